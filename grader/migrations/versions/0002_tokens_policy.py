"""Student access tokens (hashes only) and each quiz's policy (attempts, deadline, release).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grader.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("quiz_id", sa.String(80), nullable=False),
        sa.Column("student_id", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["quiz_id"], ["quizzes.quiz_id"], name="fk_tokens_quiz_id_quizzes"),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name="fk_tokens_student_id_students"
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_tokens"),
    )
    with op.batch_alter_table("quizzes") as batch:
        batch.add_column(sa.Column("max_attempts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("deadline", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("release", sa.String(16), server_default="immediately", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("quizzes") as batch:
        batch.drop_column("release")
        batch.drop_column("deadline")
        batch.drop_column("max_attempts")
    op.drop_table("tokens")
