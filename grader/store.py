"""The gradebook: import quizzes, store submissions, record and read versioned grades.

A ``Gradebook`` stores its parameters on construction (scikit-learn style: no logic in
``__init__``); ``init()`` creates or upgrades the schema and ``open()`` refuses a
database that is not at the newest schema. Both return ``self``::

    book = Gradebook("course.db").init()          # or "postgresql://tutor@host/course"
    book.import_quiz(read_quiz("midterm"))        # idempotent; another quiz, same id: refused
    sub = book.submit("s001", quiz_id, "9f1c...", {"kl-penalty": "0.42"}, max_attempts=3)
    book.record_grade(sub.id, "kl-penalty", result, grader="exact", grader_version="1")

What the database guarantees, whatever the number of writers:

* **Append-only.** A new attempt is a new row; a regrade is a new version. Triggers
  refuse UPDATE and DELETE on ``submissions`` and ``grades``.
* **Idempotent submit** (the Idempotency-Key convention). The same client id with the
  same body returns the stored submission (``replayed=True``), never a second row; the
  same client id with another body is refused (:class:`IdempotencyConflict`). A unique
  constraint on (quiz, student, client id) backs this under races.
* **Attempt limits inside the database.** The attempt number is computed by a
  conditional ``INSERT ... SELECT max + 1 ... HAVING max < limit`` and a unique
  constraint on (quiz, student, attempt number): a writer that loses a race retries and
  finds the limit reached; there is no check-then-insert.
* **Versioned grades.** A submission's grades are added in one multi-row INSERT at each
  item's newest version + 1, backed by a unique (submission, item, version) key: two
  regrades at once get distinct versions. Graders of pending work pass ``new_only`` so
  that two of them at once (``alignquiz grade`` and the server) add one version, not two.
* **Refusals store nothing.** Every check runs before or inside the write transaction.

The server's side: ``issue_tokens`` stores only token hashes, ``owner_of`` resolves a
token (or raises ``UnknownTokenError``), and ``submit_as(token, ...)`` submits under the
quiz's stored policy (``set_policy``: attempts, deadline, feedback release).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from grader import access, queries
from grader.db import (
    BUSY_TIMEOUT_S,
    DEFAULT_DB,
    AttemptsExhaustedError,
    DeadlinePassedError,
    GradebookError,
    IdempotencyConflict,
    InvalidInputError,
    NotFoundError,
    NotInitialisedError,
    database_url,
    head_revision,
    make_engine,
    migrate,
    read_tx,
    run_write,
    schema_revision,
    writer_lock,
)
from grader.records import (
    AuditRow,
    GradeRecord,
    ImportResult,
    QuizPolicy,
    QuizSummary,
    StudentTotal,
    SubmissionRecord,
    TokenOwner,
    body_hash,
    canonical_json,
    check_answers,
    check_id,
    field_name,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from grader.result import GradeResult
    from questions.variants import Quiz, Variant

__all__ = ["Gradebook", "quiz_digest"]

T = TypeVar("T")
_SOURCE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def quiz_digest(quiz: Quiz) -> str:
    """sha256 of a quiz's JSON: two quizzes with one id and different digests conflict."""
    return hashlib.sha256(quiz.model_dump_json().encode()).hexdigest()


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise GradebookError("a naive datetime was given; give a timezone (e.g. UTC)")
    return now


def _check_submission_id(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise NotFoundError(f"no submission {value!r} in the gradebook")


class Gradebook:
    """The gradebook in one SQLite file (``db`` is a path) or a PostgreSQL database
    (``db`` is a ``postgresql://`` URL)."""

    def __init__(self, db: str = DEFAULT_DB, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.db = db
        self.busy_timeout_s = busy_timeout_s

    # ------------------------------------------------------------------ lifecycle
    def init(self) -> Gradebook:
        """Create the schema, or upgrade it to the newest revision; return ``self``."""
        self.engine_ = make_engine(self.db, busy_timeout_s=self.busy_timeout_s)
        self.revision_ = migrate(self.engine_)
        self._writer_lock_ = writer_lock(self.engine_)
        return self

    def open(self) -> Gradebook:
        """Connect to a gradebook already at the newest schema; return ``self``. A SQLite
        file that does not exist is refused, never created."""
        url = database_url(self.db)
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            if not Path(url[len("sqlite:///") :].split("?")[0]).exists():
                raise NotInitialisedError(
                    f"no gradebook at {self.db}: run 'alignquiz gradebook init --db {self.db}'"
                )
        engine = make_engine(self.db, busy_timeout_s=self.busy_timeout_s)
        revision, head = schema_revision(engine), head_revision()
        if revision != head:
            engine.dispose()
            state = "has no gradebook" if revision is None else f"is at schema {revision}"
            raise NotInitialisedError(
                f"{self.db} {state}, this alignquiz needs {head}: run 'alignquiz gradebook init'"
            )
        self.engine_, self.revision_ = engine, revision
        self._writer_lock_ = writer_lock(engine)
        return self

    def close(self) -> None:
        """Close every pooled connection."""
        if hasattr(self, "engine_"):
            self.engine_.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        if not hasattr(self, "engine_"):
            raise GradebookError("call init() or open() before using the gradebook")
        return self.engine_

    def _write(self, fn: Callable[[Connection], T]) -> T:
        return run_write(self.engine, self._writer_lock_, fn)

    # ------------------------------------------------------------------ quizzes
    def import_quiz(self, quiz: Quiz) -> ImportResult:
        """Store a generated quiz and its variants (keys included). Importing the same
        quiz again does nothing; a different quiz with the same id is refused."""
        digest = quiz_digest(quiz)
        return self._write(lambda conn: queries.import_quiz(conn, quiz, digest, _now(None)))

    def quizzes(self) -> list[QuizSummary]:
        """Every quiz, oldest import first, with counts."""
        with read_tx(self.engine) as conn:
            return queries.quiz_summaries(conn)

    def load_quiz(self, quiz_id: str) -> Quiz:
        """The quiz as it was imported (checked against its digest)."""
        with read_tx(self.engine) as conn:
            return queries.load_quiz(conn, check_id("quiz_id", quiz_id))

    def variants(self, quiz_id: str, student_id: str) -> list[Variant]:
        """One student's variants (with keys: server side only), in the quiz's order."""
        check_id("quiz_id", quiz_id), check_id("student_id", student_id)
        with read_tx(self.engine) as conn:
            return queries.variants(conn, quiz_id, student_id)

    # ------------------------------------------------------------------ access
    def set_policy(
        self,
        quiz_id: str,
        *,
        max_attempts: int | None = None,
        deadline: datetime | None = None,
        release: str = "immediately",
    ) -> QuizPolicy:
        """Set how a quiz is run (``submit_as`` applies it); return it as stored."""
        policy = QuizPolicy(max_attempts, deadline, release)
        check_id("quiz_id", quiz_id)
        self._write(lambda conn: access.set_policy(conn, quiz_id, policy))
        return self.policy(quiz_id)

    def policy(self, quiz_id: str) -> QuizPolicy:
        """A quiz's policy (no limit, no deadline, immediate release until set)."""
        with read_tx(self.engine) as conn:
            return access.get_policy(conn, check_id("quiz_id", quiz_id))

    def issue_tokens(self, quiz_id: str, tokens: Mapping[str, str]) -> int:
        """Store the hashes of ``{student_id: token}`` (repeating is a no-op)."""
        check_id("quiz_id", quiz_id)
        return self._write(lambda conn: access.issue_tokens(conn, quiz_id, tokens, _now(None)))

    def owner_of(self, token: str) -> TokenOwner:
        """The quiz and student of a live token; :class:`UnknownTokenError` otherwise."""
        with read_tx(self.engine) as conn:
            return access.owner_of(conn, token)

    def revoke_token(self, token: str) -> TokenOwner:
        """Revoke a token: it opens nothing from now on."""
        return self._write(lambda conn: access.revoke(conn, token, _now(None)))

    def submit_as(
        self, token: str, client_id: str, answers: Mapping[str, str], *,
        source: str = "server", now: datetime | None = None,
    ) -> SubmissionRecord:  # fmt: skip
        """``submit`` for the owner of ``token`` under the quiz's stored policy."""
        owner = self.owner_of(token)
        policy = self.policy(owner.quiz_id)
        return self.submit(
            owner.student_id, owner.quiz_id, client_id, answers, max_attempts=policy.max_attempts,
            deadline=policy.deadline, source=source, now=now,
        )  # fmt: skip

    # ------------------------------------------------------------------ submissions
    def submit(
        self,
        student_id: str,
        quiz_id: str,
        client_id: str,
        answers: Mapping[str, str],
        *,
        max_attempts: int | None = None,
        deadline: datetime | None = None,
        source: str = "server",
        now: datetime | None = None,
    ) -> SubmissionRecord:
        """Store one attempt, or return the stored one for a repeated ``client_id``.

        Raises (storing nothing) :class:`InvalidInputError` for a malformed field,
        :class:`NotFoundError` for an unknown quiz or student, :class:`IdempotencyConflict`
        for a client id reused with another body, :class:`DeadlinePassedError` and
        :class:`AttemptsExhaustedError`.
        """
        check_id("student_id", student_id)
        check_id("quiz_id", quiz_id)
        check_id("client_id", client_id)
        if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
            raise GradebookError(f"max_attempts must be a positive integer, not {max_attempts!r}")
        if not isinstance(source, str) or not _SOURCE.fullmatch(source):
            raise GradebookError(f"source must be a short lowercase word, not {source!r}")
        at = _now(now)
        if deadline is not None and deadline.tzinfo is None:
            raise GradebookError("the deadline is a naive datetime; give a timezone (e.g. UTC)")

        body = canonical_json(check_answers(answers))
        digest = body_hash(body)

        def replay(conn: Connection) -> SubmissionRecord | None:
            """The stored row of this client id (Idempotency-Key rule), if any."""
            stored = queries.submission_by_client_id(conn, quiz_id, student_id, client_id)
            if stored is not None and stored.body_hash != digest:
                raise IdempotencyConflict(
                    f"{client_id!r} already names submission {stored.id} with a "
                    "different body; use a new client id for a new attempt",
                    field="client_id",
                )
            return stored

        def tx(conn: Connection) -> SubmissionRecord:
            queries.queue_for_student(conn, quiz_id, student_id)
            stored = replay(conn)  # the Idempotency-Key rule comes before any other check
            if stored is not None:
                return stored
            unknown = sorted(set(answers) - queries.item_ids_of(conn, quiz_id, student_id))
            if unknown:
                raise InvalidInputError(
                    "no such item in this quiz", field=f"answers.{field_name(unknown[0])}"
                )
            late = deadline is not None and at > deadline
            made = None if late else queries.insert_attempt(
                conn, quiz_id, student_id, client_id, body, digest, source, at, max_attempts
            )  # fmt: skip
            if made is not None:
                return made
            # Refused. A concurrent request with this client id may have been stored since
            # our first look (PostgreSQL, read committed): then that row is the answer.
            stored = replay(conn)
            if stored is not None:
                return stored
            if late:
                assert deadline is not None
                raise DeadlinePassedError(
                    f"the deadline was {deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC; "
                    "nothing was stored"
                )
            raise AttemptsExhaustedError(
                f"all {max_attempts} attempts are used; nothing was stored"
            )

        return self._write(tx)

    def submissions(self, quiz_id: str, student_id: str | None = None) -> list[SubmissionRecord]:
        """Every stored attempt of a quiz (of one student), oldest first."""
        check_id("quiz_id", quiz_id)
        if student_id is not None:
            check_id("student_id", student_id)
        with read_tx(self.engine) as conn:
            return queries.submissions(conn, quiz_id, student_id)

    def attempts_used(self, quiz_id: str, student_id: str) -> int:
        """How many attempts a student has stored."""
        return len(self.submissions(quiz_id, student_id))

    def pending(self, quiz_id: str | None = None) -> list[SubmissionRecord]:
        """Submissions not fully graded (an item of the paper has no grade), oldest first."""
        if quiz_id is not None:
            check_id("quiz_id", quiz_id)
        with read_tx(self.engine) as conn:
            return queries.pending(conn, quiz_id)

    # ------------------------------------------------------------------ grades
    def record_grades(
        self,
        submission_id: int,
        results: Mapping[str, GradeResult],
        *,
        grader: str,
        grader_version: str,
        now: datetime | None = None,
        new_only: bool = False,
    ) -> list[GradeRecord]:
        """Add one new grade version per item in ``results`` (one transaction, one
        multi-row INSERT), in item order.

        ``new_only=True`` is for graders of what is pending (``alignquiz grade``, the
        server): an item that has a grade already, perhaps added by a concurrent grader
        since the caller looked, keeps it and gets no second version; only the rows
        added are returned. The default adds a version to every item (a regrade)."""
        at = _now(now)
        _check_submission_id(submission_id)
        for name, value in (("grader", grader), ("grader_version", grader_version)):
            if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
                raise GradebookError(f"{name} must be printable text of 1 to 64 characters")
        if not results:
            raise InvalidInputError("no grades given", field="results")
        for item_id in results:
            check_id("item_id", item_id)
        return self._write(
            lambda conn: queries.insert_grades(
                conn, submission_id, dict(results), grader, grader_version, at, new_only=new_only
            )
        )

    def record_grade(
        self,
        submission_id: int,
        item_id: str,
        result: GradeResult,
        *,
        grader: str,
        grader_version: str,
        now: datetime | None = None,
    ) -> GradeRecord:
        """Add a new grade version for one item of a submission (a regrade keeps the old)."""
        return self.record_grades(
            submission_id, {item_id: result}, grader=grader, grader_version=grader_version,
            now=now,
        )[0]  # fmt: skip

    def latest_grades(self, quiz_id: str, student_id: str | None = None) -> list[GradeRecord]:
        """The newest version of every graded item, by submission then item."""
        check_id("quiz_id", quiz_id)
        if student_id is not None:
            check_id("student_id", student_id)
        with read_tx(self.engine) as conn:
            return queries.grades(conn, quiz_id=quiz_id, student_id=student_id, latest=True)

    def grade_history(self, submission_id: int, item_id: str | None = None) -> list[GradeRecord]:
        """Every version of every grade of a submission (of one item), oldest first."""
        _check_submission_id(submission_id)
        if item_id is not None:
            check_id("item_id", item_id)
        with read_tx(self.engine) as conn:
            return queries.grades(conn, submission_id=submission_id, item_id=item_id, latest=False)

    # ------------------------------------------------------------------ exports
    def totals(self, quiz_id: str, policy: str = "last") -> list[StudentTotal]:
        """Every student's points on a quiz: of the ``last`` attempt or the ``best``
        fully graded one. A student without a counted, fully graded attempt has None."""
        if policy not in ("last", "best"):
            raise GradebookError(f"unknown policy {policy!r}: use last or best")
        with read_tx(self.engine) as conn:
            return queries.totals(conn, check_id("quiz_id", quiz_id), policy)

    def audit_rows(self, quiz_id: str) -> list[AuditRow]:
        """One row per item of every stored submission, with its newest grade."""
        with read_tx(self.engine) as conn:
            return queries.audit_rows(conn, check_id("quiz_id", quiz_id))

    def check_bodies(self) -> list[int]:
        """Ids of stored submissions whose answers no longer match their hash (audit)."""
        with read_tx(self.engine) as conn:
            return queries.tampered(conn)
