"""Grade LMS attempts (:mod:`grader.lms`) and store them in the gradebook, all or nothing.

``import_responses(book, quiz, path, fmt)`` runs in three steps:

1. read and check the whole file against the quiz (unknown students or questions, a
   missing column: :class:`~grader.lms.LmsResponseError`, nothing written);
2. grade every attempt not stored yet, on the variant the LMS showed: numbers and
   choices with :mod:`grader.exact` (our key and tolerance), essays with the real
   embedding model (:class:`~grader.essay.EssayGrader`, loaded once per process), an
   unanswered item as 0 and an unreadable answer as 0 with the reason;
3. store the quiz (idempotent), then every attempt and its grades in **one** write
   transaction, with ``source`` ``canvas`` or ``moodle``
   (:data:`grader.records.LMS_SOURCES`). That source marks the attempt as graded on the
   LMS's variant, which is not stored: ``alignquiz grade`` (pending or ``--regrade``)
   and the server never grade it again from the student's own variant.

Re-importing a file replays it: an attempt's client id comes from the student and the
LMS's attempt number and times, so a stored attempt is found, not stored twice; the
same client id with other answers is refused (``IdempotencyConflict``), storing nothing.
LMS attempts are stored without our attempt limit or deadline: the LMS applied its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from grader.lms import LmsAnswer, LmsAttempt, catalogue, fingerprint, read_responses

if TYPE_CHECKING:
    from grader.result import GradeResult
    from grader.store import Gradebook
    from questions.variants import Quiz, Variant

__all__ = ["ImportedAttempt", "grade_attempt", "import_responses", "option_labels"]

NO_ANSWER = "No answer was given."


@dataclass(frozen=True)
class ImportedAttempt:
    """What became of one row of the response file."""

    line: int
    student_id: str
    submission_id: int
    attempt_no: int
    points: float
    replayed: bool


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alignquiz")
    except PackageNotFoundError:
        return "0"


def option_labels(variant: Variant, answer: LmsAnswer) -> tuple[str, ...] | None:
    """The labels of the options a response chose, or None if it names no option set."""
    from questions.export.text import to_html

    texts = {fingerprint(to_html(o.text, inline=True)): o.label for o in variant.options}
    whole = texts.get(fingerprint(answer.response))
    if whole is not None:
        return (whole,)
    labels = [texts.get(fingerprint(c)) for c in answer.choices if c.strip()]
    if not labels or any(label is None for label in labels):
        return None
    order = [o.label for o in variant.options]
    return tuple(sorted({la for la in labels if la}, key=order.index))


def _unreadable(points: float, message: str) -> GradeResult:
    from grader.result import GradeResult

    return GradeResult.of(0.0, points=points, feedback=[f"The answer could not be read: "
                                                        f"{message}"])  # fmt: skip


def grade_attempt(quiz: Quiz, attempt: LmsAttempt, essays: list) -> dict[str, GradeResult]:
    """Exact grades of every item of ``quiz`` for one attempt; each essay to grade is
    appended to ``essays`` as ``(attempt, item_id, task, text, points)`` instead."""
    from grader.essay import EssayTask
    from grader.exact import grade
    from grader.parse import FormatError, ParsedChoice, parse_number, parse_text
    from grader.result import GradeResult
    from questions.models import EssayItem

    results: dict[str, GradeResult] = {}
    for item_id in quiz.item_ids:
        spec = quiz.items[item_id]
        answer = attempt.answers.get(item_id)
        if answer is None or not answer.response.strip():
            results[item_id] = GradeResult.of(0.0, points=spec.points, feedback=[NO_ANSWER])
            continue
        v = answer.variant
        if v.kind == "numeric":
            parsed = parse_number(answer.response)
        elif v.kind == "multiple_choice":
            labels = option_labels(v, answer)
            if labels and (v.multiple or len(labels) == 1):
                parsed = ParsedChoice(labels)
            else:
                parsed = FormatError("the response names no option of this question")
        else:
            assert isinstance(spec, EssayItem)
            parsed = parse_text(answer.response, max_words=spec.max_words)
        if isinstance(parsed, FormatError):
            results[item_id] = _unreadable(v.points, parsed.message)
        elif isinstance(spec, EssayItem):
            essays.append((attempt, item_id, EssayTask.from_item(spec), parsed.text, v.points))
        else:
            results[item_id] = grade(v, parsed, spec)
    return results


def _body(quiz: Quiz, answers: dict[str, LmsAnswer]) -> dict[str, str]:
    """What is stored: every item's response as the LMS wrote it, '' for none."""
    return {i: answers[i].response if i in answers else "" for i in quiz.item_ids}


def _conflict(path: str | Path, a: LmsAttempt) -> Exception:
    from grader.db import IdempotencyConflict

    return IdempotencyConflict(
        f"{path}:{a.line}: this attempt ({a.client_id}) is stored with other answers; "
        "nothing was imported"
    )


def import_responses(
    book: Gradebook, quiz: Quiz, path: str | Path, fmt: str, *, now: datetime | None = None
) -> list[ImportedAttempt]:
    """Read, grade and store an LMS response file (see the module docstring)."""
    from grader import queries
    from grader.records import body_hash, canonical_json, check_answers

    at = now or datetime.now(UTC)
    attempts = read_responses(Path(path), fmt, quiz, catalogue(quiz, fmt))
    attempts.sort(key=lambda a: (a.student_id, a.order))
    stored = {}
    if quiz.quiz_id in {q.quiz_id for q in book.quizzes()}:
        stored = {(s.student_id, s.client_id): s for s in book.submissions(quiz.quiz_id)}

    exact: dict[int, dict] = {}
    essays: list = []
    bodies: dict[int, str] = {}
    for k, a in enumerate(attempts):
        bodies[k] = canonical_json(check_answers(_body(quiz, a.answers)))
        known = stored.get((a.student_id, a.client_id))
        if known is not None:
            if known.body_hash != body_hash(bodies[k]):
                raise _conflict(path, a)
            continue
        exact[k] = grade_attempt(quiz, a, essays)
    graded: dict[int, dict] = {k: {} for k in exact}
    if essays:
        from grader.embedding import get_embedder
        from grader.essay import EssayGrader

        grader = EssayGrader(get_embedder())
        index = {id(a): k for k, a in enumerate(attempts)}
        results = grader.grade_many([(task, text) for _, _, task, text, _ in essays])
        for (a, item_id, _, _, points), r in zip(essays, results, strict=True):
            r = r.model_copy(update={"points": round(r.score * points, 10)})
            graded[index[id(a)]][item_id] = r

    book.import_quiz(quiz)  # idempotent; after every check, before the one transaction
    version = f"{_version()}+{fmt}"

    def tx(conn) -> list[ImportedAttempt]:
        out = []
        for k, a in enumerate(attempts):
            body = bodies[k]
            queries.queue_for_student(conn, quiz.quiz_id, a.student_id)
            sub = queries.submission_by_client_id(conn, quiz.quiz_id, a.student_id, a.client_id)
            if sub is not None and sub.body_hash != body_hash(body):
                raise _conflict(path, a)
            if sub is None:
                sub = queries.insert_attempt(
                    conn, quiz.quiz_id, a.student_id, a.client_id, body, body_hash(body),
                    fmt, a.submitted_at or at, None,
                )  # fmt: skip
                assert sub is not None  # no attempt limit
                points = 0.0
                for grader_name, results in (("exact", exact[k]), ("essay", graded[k])):
                    if results:
                        made = queries.insert_grades(conn, sub.id, results, grader_name,
                                                     version, at)  # fmt: skip
                        points += sum(g.points for g in made)
            else:
                points = sum(g.points for g in queries.grades(
                    conn, submission_id=sub.id, latest=True))  # fmt: skip
            out.append(ImportedAttempt(a.line, a.student_id, sub.id, sub.attempt_no,
                                       round(points, 10), sub.replayed))  # fmt: skip
        return out

    return book._write(tx)  # one transaction for the whole file: all or nothing
