"""Alembic's entry point for the gradebook: run on the connection the caller passes.

``grader.db.migrate`` hands a connection in ``config.attributes["connection"]``, inside a
write transaction, so the package needs no alembic.ini. (For the alembic command line,
set ``sqlalchemy.url`` in a config of your own.) Importing this module outside Alembic,
as pytest's doctest collection does, runs nothing.
"""

from __future__ import annotations

from alembic import context

from grader.schema import Base

__all__ = ["run"]


def _run_on(conn) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Migrate on the caller's connection, or on ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    from grader.db import make_engine  # pragma: no cover - the alembic command line

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run_on(conn)


if getattr(context, "config", None) is not None:  # run by Alembic, not merely imported
    run()
