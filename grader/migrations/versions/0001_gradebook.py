"""The gradebook: students, quizzes, variants, append-only submissions, versioned grades.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grader.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("submissions", "grades")


def upgrade() -> None:
    op.create_table(
        "students",
        sa.Column("student_id", sa.String(80), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("student_id", name="pk_students"),
    )
    op.create_table(
        "quizzes",
        sa.Column("quiz_id", sa.String(80), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("item_ids", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("students", sa.Text(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("quiz_id", name="pk_quizzes"),
    )
    op.create_table(
        "variants",
        sa.Column("quiz_id", sa.String(80), nullable=False),
        sa.Column("student_id", sa.String(80), nullable=False),
        sa.Column("item_id", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("variant", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quizzes.quiz_id"], name="fk_variants_quiz_id_quizzes"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name="fk_variants_student_id_students"
        ),
        sa.PrimaryKeyConstraint("quiz_id", "student_id", "item_id", name="pk_variants"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("quiz_id", sa.String(80), nullable=False),
        sa.Column("student_id", sa.String(80), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("attempt_no >= 1", name="ck_submissions_attempt_positive"),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quizzes.quiz_id"], name="fk_submissions_quiz_id_quizzes"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name="fk_submissions_student_id_students"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint(
            "quiz_id", "student_id", "attempt_no",
            name="uq_submissions_quiz_id_student_id_attempt_no",
        ),
        sa.UniqueConstraint(
            "quiz_id", "student_id", "client_id",
            name="uq_submissions_quiz_id_student_id_client_id",
        ),
    )  # fmt: skip
    op.create_table(
        "grades",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("grader", sa.String(64), nullable=False),
        sa.Column("grader_version", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_grades_version_positive"),
        sa.CheckConstraint("score >= 0 AND score <= 1", name="ck_grades_score_range"),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name="fk_grades_submission_id_submissions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_grades"),
        sa.UniqueConstraint(
            "submission_id", "item_id", "version",
            name="uq_grades_submission_id_item_id_version",
        ),
    )  # fmt: skip
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE) on the append-only tables, in the database."""
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION gradebook_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% are append-only', TG_TABLE_NAME; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION gradebook_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gradebook_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION gradebook_append_only() CASCADE")
    for table in ("grades", "submissions", "variants", "quizzes", "students"):
        op.drop_table(table)
