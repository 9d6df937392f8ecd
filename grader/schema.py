"""The gradebook's tables, as SQLAlchemy 2 models (the migrations create the same).

::

    students     student_id, name, email
    quizzes      quiz_id, title, seed, digest (of the whole quiz), item_ids, items (private),
                 and the policy: max_attempts, deadline, release
    variants     (quiz_id, student_id, item_id): a variant's JSON as generated, with its key
    submissions  append-only: one row per attempt; (quiz, student, client_id) unique for
                 idempotency, (quiz, student, attempt_no) unique for attempt limits;
                 answers as canonical JSON and its sha256
    grades       append-only: (submission, item, version) unique; a regrade adds a version
    tokens       sha256 of each student's access token (never the token), revocable

JSON is stored as text (canonical, ASCII-only), so a stored body is byte-identical on
SQLite and PostgreSQL and its hash can be checked at any time. Times are UTC. Database
triggers (see the migration) refuse UPDATE and DELETE on submissions and grades.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Grade", "Quiz", "Student", "Submission", "Token", "UTCDateTime", "Variant"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ID = 80
"""Longest id (student, quiz, item): an item id (a slug) may have 80 characters."""
CLIENT_ID = 128
"""Longest client-made submission id (a UUID is 36)."""


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive text)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Student(Base):
    __tablename__ = "students"

    student_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Quiz(Base):
    __tablename__ = "quizzes"

    quiz_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the whole quiz's JSON: a different quiz with the same id is refused."""
    item_ids: Mapped[str] = mapped_column(Text)
    """JSON list, in the quiz's order."""
    items: Mapped[str] = mapped_column(Text)
    """JSON of the item specs (private: references and rubrics)."""
    students: Mapped[str] = mapped_column(Text)
    """JSON list of student ids, in roster order."""
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Attempts a student may store (None: no limit)."""
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    release: Mapped[str] = mapped_column(String(16), server_default="immediately")
    """When graded feedback is shown: ``immediately`` or ``after_deadline``."""


class Token(Base):
    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of the token; the token itself is never stored."""
    quiz_id: Mapped[str] = mapped_column(ForeignKey("quizzes.quiz_id"))
    student_id: Mapped[str] = mapped_column(ForeignKey("students.student_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Variant(Base):
    __tablename__ = "variants"

    quiz_id: Mapped[str] = mapped_column(ForeignKey("quizzes.quiz_id"), primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.student_id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    points: Mapped[float] = mapped_column(Float)
    variant: Mapped[str] = mapped_column(Text)
    """The variant's JSON as generated, key included: it never leaves the server."""


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("quiz_id", "student_id", "client_id"),
        UniqueConstraint("quiz_id", "student_id", "attempt_no"),
        CheckConstraint("attempt_no >= 1", name="attempt_positive"),
        ForeignKeyConstraint(["quiz_id"], ["quizzes.quiz_id"]),
        ForeignKeyConstraint(["student_id"], ["students.student_id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    quiz_id: Mapped[str] = mapped_column(String(ID))
    student_id: Mapped[str] = mapped_column(String(ID))
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID))
    attempt_no: Mapped[int] = mapped_column(Integer)
    answers: Mapped[str] = mapped_column(Text)
    """Canonical JSON ``{item_id: raw answer}`` (sorted keys, ASCII)."""
    body_hash: Mapped[str] = mapped_column(String(64))
    """sha256 of ``answers``: same client id with another hash is refused."""
    source: Mapped[str] = mapped_column(String(32))
    """Where it came from: ``server``, ``file`` (offline import), ``cli``, ``test``, or an
    LMS (``canvas``, ``moodle``: graded at import on the LMS's variant, never regraded)."""
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Grade(Base):
    __tablename__ = "grades"
    __table_args__ = (
        UniqueConstraint("submission_id", "item_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    item_id: Mapped[str] = mapped_column(String(ID))
    version: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    """Fraction of the item's points earned, in [0, 1]."""
    points: Mapped[float] = mapped_column(Float)
    """Points earned (score times the item's points)."""
    feedback: Mapped[str] = mapped_column(Text)
    """JSON: verdict, feedback sentences, review flag, parts, evidence."""
    grader: Mapped[str] = mapped_column(String(64))
    grader_version: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
