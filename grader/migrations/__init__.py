"""Alembic migrations of the gradebook (run by ``grader.db.migrate``)."""
