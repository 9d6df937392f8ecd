"""The submission API's shapes (pydantic, for validation and the OpenAPI spec) and the
one format check that the server and the student CLI share.

Everything a student is sent is built from these models, and none of them has a field
of the key side (``correct``, ``answer``, ``explanation``, ``references``, ...): a
``PaperItem`` is a ``StudentItem`` (``Variant.student_item()``) plus the essay word
limit. Only pydantic and :mod:`grader.parse` are imported here, so the CLI can use it
without FastAPI.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from grader.errors import GraderError
from grader.parse import ParseResult, parse_choice, parse_number, parse_text
from questions.variants import StudentItem

__all__ = [
    "API",
    "ErrorBody",
    "ErrorOut",
    "FormatRefused",
    "ItemResult",
    "PaperItem",
    "PaperOut",
    "PolicyOut",
    "StatusOut",
    "SubmissionBrief",
    "SubmissionIn",
    "SubmissionOut",
    "parse_answer",
]

API = "/api/v1"
"""The prefix of every route."""


class FormatRefused(GraderError):
    """An answer could not be read (422, costs no attempt)."""

    def __init__(self, message: str, *, field: str):
        self.field = field
        super().__init__(message)


def parse_answer(item, raw: str, max_words: int | None = None) -> ParseResult:
    """Parse ``raw`` as an answer to ``item`` (a ``Variant`` or a ``StudentItem``): the one
    format check of the server and the student CLI.

    >>> from questions.variants import StudentItem
    >>> item = StudentItem(item_id="x", kind="numeric", title="t", points=1, prompt="p")
    >>> parse_answer(item, "1,5").value, parse_answer(item, "one").ok
    (1.5, False)
    """
    if item.kind == "numeric":
        return parse_number(raw)
    if item.kind == "multiple_choice":
        return parse_choice(raw, item.options, multiple=item.multiple)
    return parse_text(raw, max_words=max_words)


# --------------------------------------------------------------------------- models
class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorBody(_Out):
    code: str
    message: str
    field: str | None = None
    """The culprit, e.g. ``answers.kl-penalty`` or ``client_id``."""


class ErrorOut(_Out):
    error: ErrorBody


class PaperItem(StudentItem):
    """An item as its student sees it, plus the essay word limit (for format checks)."""

    max_words: int | None = None


class PolicyOut(_Out):
    max_attempts: int | None
    deadline: datetime | None
    release: str


class PaperOut(_Out):
    quiz_id: str
    title: str
    student_id: str
    items: list[PaperItem]
    policy: PolicyOut


class SubmissionIn(BaseModel):
    """What a student posts: answers by item id, and the client id (or the header)."""

    model_config = ConfigDict(extra="forbid")
    client_id: str | None = Field(None, max_length=128)
    answers: dict[str, str]


class ItemResult(_Out):
    item_id: str
    status: str
    """``graded``, ``pending`` (awaiting the essay grader) or ``held`` (not released)."""
    max_points: float
    answered: bool
    points: float | None = None
    score: float | None = None
    verdict: str | None = None
    feedback: list[str] | None = None


class SubmissionOut(_Out):
    submission_id: int
    client_id: str
    attempt: int
    submitted_at: datetime
    status: str
    """``graded``; ``pending`` (an item awaits grading); ``held`` (graded, shown after
    the deadline)."""
    score: float | None
    """Points earned (None until graded and released)."""
    max: float
    replayed: bool = False
    released: bool
    items: list[ItemResult]


class SubmissionBrief(_Out):
    submission_id: int
    client_id: str
    attempt: int
    submitted_at: datetime


class StatusOut(_Out):
    quiz_id: str
    student_id: str
    attempts_used: int
    max_attempts: int | None
    attempts_left: int | None
    deadline: datetime | None
    release: str
    open: bool
    """Whether a new attempt would be accepted now."""
    submissions: list[SubmissionBrief]
