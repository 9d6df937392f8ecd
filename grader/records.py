"""What the gradebook hands back, and how it checks and encodes what it is given.

Plain frozen dataclasses (the boundary models are pydantic; these live inside). JSON is
stored canonically: sorted keys, no spaces, ASCII only (``\\u`` escapes), so a body is
byte-identical on SQLite and PostgreSQL, a NUL or a lone surrogate cannot break a
driver, and ``body_hash`` can be recomputed from the stored text at any time.

>>> canonical_json({"b": "−0.3", "a": "1"})
'{"a":"1","b":"\\\\u22120.3"}'
>>> body_hash('{"a":"1"}')[:12]
'9afeb0f2b203'
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grader.db import InvalidInputError

__all__ = [
    "LMS_SOURCES",
    "MAX_ANSWER_CHARS",
    "AuditRow",
    "QuizPolicy",
    "TokenOwner",
    "GradeRecord",
    "ImportResult",
    "QuizSummary",
    "StudentTotal",
    "SubmissionRecord",
    "body_hash",
    "canonical_json",
    "check_answers",
    "check_id",
    "field_name",
]

MAX_ANSWER_CHARS = 20_000
"""Longest raw answer stored (an essay of 250 words is about 1,500 characters)."""
LMS_SOURCES = frozenset({"canvas", "moodle"})
"""The ``source`` of a submission imported from an LMS response file
(``alignquiz lms import-responses``): graded at import on the variant the LMS showed."""
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_ID_MAX = {"client_id": 128}


def canonical_json(value: Any) -> str:
    """The one JSON encoding the gradebook stores and hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def body_hash(text: str) -> str:
    """sha256 (hex) of a stored JSON text."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def field_name(key: str) -> str:
    """``key`` as it may appear in a one-line message: itself if id-like, else ascii().

    >>> field_name("kl-penalty"), field_name("a\\nb")
    ('kl-penalty', "'a\\\\nb'")
    """
    return key if len(key) <= 80 and _ID.fullmatch(key) else ascii(key[:80])


def check_id(name: str, value: object) -> str:
    """``value`` if it is a well-formed id (letters, digits, ``. _ : -``), else an
    :class:`InvalidInputError` naming ``name``.

    >>> check_id("student_id", "s001")
    's001'
    """
    limit = _ID_MAX.get(name, 80)
    if not isinstance(value, str):
        raise InvalidInputError(f"must be a string, not {type(value).__name__}", field=name)
    if not 0 < len(value) <= limit:
        raise InvalidInputError(f"must have 1 to {limit} characters", field=name)
    if not _ID.fullmatch(value):
        raise InvalidInputError("may hold only letters, digits and . _ : -", field=name)
    return value


def check_answers(answers: object) -> dict[str, str]:
    """``{item_id: raw answer}`` checked for shape: text keys and values, bounded length.
    (Whether the items belong to the quiz is checked against the database.)"""
    if not isinstance(answers, Mapping):
        raise InvalidInputError("must map item ids to answers", field="answers")
    if not answers:
        raise InvalidInputError("no answers given", field="answers")
    checked: dict[str, str] = {}
    for key, value in answers.items():
        if not isinstance(key, str) or not 0 < len(key) <= 80:
            raise InvalidInputError("an item id must be text of 1 to 80 characters",
                                    field="answers")  # fmt: skip
        if not isinstance(value, str):
            raise InvalidInputError(
                f"must be text, not {type(value).__name__}", field=f"answers.{field_name(key)}"
            )
        if len(value) > MAX_ANSWER_CHARS:
            raise InvalidInputError(
                f"is {len(value)} characters; at most {MAX_ANSWER_CHARS}",
                field=f"answers.{field_name(key)}",
            )
        checked[key] = value
    return checked


@dataclass(frozen=True)
class ImportResult:
    """What ``import_quiz`` did: ``created`` is False for a repeated import (a no-op)."""

    quiz_id: str
    created: bool
    students: int
    variants: int


@dataclass(frozen=True)
class SubmissionRecord:
    """One stored attempt. ``replayed`` is True when a resubmission of the same client id
    and body was answered with this stored row instead of a new one."""

    id: int
    quiz_id: str
    student_id: str
    client_id: str
    attempt_no: int
    answers: dict[str, str]
    body_hash: str
    source: str
    submitted_at: datetime
    replayed: bool = False

    @property
    def lms_imported(self) -> bool:
        """Whether this attempt came from an LMS response file. It was graded at import
        on the variant the LMS showed, which is not stored (only the response text is),
        so it must never be graded again from the student's own generated variant."""
        return self.source in LMS_SOURCES


@dataclass(frozen=True)
class GradeRecord:
    """One version of the grade of one item of one submission."""

    id: int
    submission_id: int
    quiz_id: str
    student_id: str
    item_id: str
    version: int
    score: float
    points: float
    feedback: dict[str, Any]
    grader: str
    grader_version: str
    confidence: float | None
    created_at: datetime

    def result(self):
        """The :class:`grader.result.GradeResult` this row stores."""
        from grader.result import GradeResult

        extra = {"confidence": self.confidence} if self.confidence is not None else {}
        return GradeResult(score=self.score, points=self.points, **self.feedback, **extra)


@dataclass(frozen=True)
class QuizSummary:
    """A quiz as ``gradebook show`` lists it."""

    quiz_id: str
    title: str
    students: int
    items: int
    submissions: int
    pending: int
    imported_at: datetime


@dataclass(frozen=True)
class StudentTotal:
    """One student's total on a quiz under a policy (``last`` or ``best`` attempt).

    ``points`` is None when the counted attempt is not fully graded (or none exists)."""

    student_id: str
    name: str
    email: str
    attempts: int
    submission_id: int | None
    points: float | None
    max_points: float
    items: dict[str, float] = field(default_factory=dict)
    """Points per item of the counted attempt."""


@dataclass(frozen=True)
class AuditRow:
    """One item of one stored submission, for ``export --submissions``."""

    submission_id: int
    student_id: str
    client_id: str
    attempt_no: int
    submitted_at: datetime
    source: str
    item_id: str
    answer: str | None
    score: float | None
    points: float | None
    grade_version: int | None


@dataclass(frozen=True)
class QuizPolicy:
    """How a quiz is run: attempts a student may store (None: no limit), the deadline
    (None: none), and when graded feedback is shown."""

    max_attempts: int | None = None
    deadline: datetime | None = None
    release: str = "immediately"
    """``immediately`` or ``after_deadline``."""


@dataclass(frozen=True)
class TokenOwner:
    """Whom an access token belongs to."""

    quiz_id: str
    student_id: str
