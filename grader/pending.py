"""Grade what the gradebook holds: everything pending, or a regrade of every submission.

``alignquiz grade --db URL`` runs :func:`grade_pending`. For each submission it
targets, in chunks of :data:`CHUNK` submissions:

1. read the student's paper (the variants of the quiz as imported);
2. grade numeric and multiple-choice answers at once (:func:`grader.exact.grade`), an
   unanswered item as 0, a stored answer that cannot be read as 0 (an import may store
   one; the server never does);
3. grade the chunk's essays in one batch (:meth:`grader.essay.EssayGrader.grade_many`),
   the embedding model loaded once per process, and only if there is an essay;
4. record the grades: one new version per item (``grader="exact"`` or ``"essay"``, as
   the server records them), so a regrade keeps the history.

Pending means "an item of the paper has no grade yet": only those items are graded, and
only if they still have none when the grades are written (``new_only``: the server may
have graded the submission meanwhile; two graders at once add one version, not two).
With ``regrade=True`` every item of every stored submission gets a new version.

Submissions imported from an LMS (``alignquiz lms import-responses``,
:attr:`~grader.records.SubmissionRecord.lms_imported`) are never graded here: they were
graded at import on the variant the LMS showed the student, and that variant is not
stored, only the response text. Grading their answers against the student's own
generated variant (other numbers, another option order) would be wrong, so they are
skipped and counted (:attr:`GradingRun.skipped_lms`).

The database imports (SQLAlchemy) and the model load happen inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.essay import EssayGrader, EssayTask
    from grader.records import SubmissionRecord
    from grader.result import GradeResult
    from grader.store import Gradebook
    from questions.variants import Quiz, Variant

__all__ = [
    "CHUNK",
    "NO_ANSWER",
    "GradingRun",
    "LazyEmbedder",
    "grade_pending",
    "grader_version",
    "targets",
]

CHUNK = 64
"""Submissions graded (and their essays encoded) per batch."""
NO_ANSWER = "No answer was given."


def grader_version() -> str:
    """The installed alignquiz version, stored with every grade."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alignquiz")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


class LazyEmbedder:
    """The process's embedder, loaded (with ``threads`` torch threads) on the first
    ``encode``: a run without essays never loads the model."""

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def _model(self):
        from grader.embedding import get_embedder

        if not hasattr(self, "embedder_"):
            self.embedder_ = get_embedder(threads=self.threads)
        return self.embedder_

    def encode(self, texts):
        return self._model().encode(texts)

    def token_states(self, texts):
        return self._model().token_states(texts)


@dataclass(frozen=True)
class GradingRun:
    """What one grading run did."""

    submissions: int
    """Submissions that received at least one grade."""
    grades: int
    """Grade rows written (one per item)."""
    essays: int
    """Essay grades written (graded with the model)."""
    review: int
    """Grades written with the review flag (a human should look)."""
    seconds: float
    quizzes: tuple[str, ...] = field(default_factory=tuple)
    skipped_lms: int = 0
    """LMS-imported submissions left alone: graded at import on the LMS's variant."""

    def as_dict(self) -> dict:
        return {"submissions": self.submissions, "grades": self.grades, "essays": self.essays,
                "review": self.review, "seconds": round(self.seconds, 3),
                "quizzes": list(self.quizzes), "skipped_lms": self.skipped_lms}  # fmt: skip

    def skipped_message(self) -> str | None:
        """One line on the LMS-imported submissions skipped, or None when there were none."""
        if not self.skipped_lms:
            return None
        n = self.skipped_lms
        return (f"skipped {n} LMS-imported submission{'s' * (n != 1)}: graded by the LMS's "
                "variant")  # fmt: skip


@dataclass
class _Plan:
    """One submission's work: exact grades now, essays after the batch is encoded."""

    sub: SubmissionRecord
    exact: dict[str, GradeResult] = field(default_factory=dict)
    essays: list[tuple[str, EssayTask, str, float]] = field(default_factory=list)
    """(item_id, task, text, the variant's points)."""


def targets(book: Gradebook, quiz_id: str | None, regrade: bool) -> list[SubmissionRecord]:
    """The submissions a run grades: pending ones, or every stored one for a regrade;
    never an LMS-imported one (see the module docstring)."""
    return _targets(book, quiz_id, regrade)[0]


def _targets(
    book: Gradebook, quiz_id: str | None, regrade: bool
) -> tuple[list[SubmissionRecord], int]:
    """(the submissions to grade, the number of LMS-imported ones skipped)."""
    if regrade:
        ids = [quiz_id] if quiz_id is not None else [q.quiz_id for q in book.quizzes()]
        subs = sorted((s for q in ids for s in book.submissions(q)), key=lambda s: s.id)
    else:
        subs = book.pending(quiz_id)
    ours = [s for s in subs if not s.lms_imported]
    return ours, len(subs) - len(ours)


def _plan(sub: SubmissionRecord, quiz: Quiz, skip: set[str]) -> _Plan:
    """Grade the exact items of ``sub`` (except those in ``skip``); queue its essays."""
    from grader.api import parse_answer
    from grader.essay import EssayTask
    from grader.exact import grade
    from grader.parse import FormatError, ParsedText
    from grader.result import GradeResult

    plan = _Plan(sub)
    paper: Sequence[Variant] = quiz.variants.get(sub.student_id, ())
    for v in paper:
        if v.item_id in skip:
            continue
        raw = sub.answers.get(v.item_id)
        if raw is None:
            plan.exact[v.item_id] = GradeResult.of(0.0, points=v.points, feedback=[NO_ANSWER])
            continue
        spec = quiz.items[v.item_id]
        parsed = parse_answer(v, raw, getattr(spec, "max_words", None))
        if isinstance(parsed, FormatError):
            plan.exact[v.item_id] = GradeResult.of(
                0.0, points=v.points, feedback=[f"The answer could not be read: {parsed.message}"]
            )
        elif v.kind == "essay":
            assert isinstance(parsed, ParsedText)
            plan.essays.append((v.item_id, EssayTask.from_item(spec), parsed.text, v.points))
        else:
            plan.exact[v.item_id] = grade(v, parsed, spec)
    return plan


def grade_pending(
    book: Gradebook,
    *,
    quiz_id: str | None = None,
    regrade: bool = False,
    essay_grader: EssayGrader | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> GradingRun:
    """Grade every pending submission of ``book`` (of one quiz), or regrade them all.

    ``essay_grader`` defaults to one on the process's embedder (loaded on the first
    essay). ``on_start(n)`` is called with the number of submissions to grade, and
    ``on_progress(k)`` after each chunk of ``k`` submissions is recorded.
    """
    start = time.perf_counter()
    subs, skipped_lms = _targets(book, quiz_id, regrade)
    if on_start is not None:
        on_start(len(subs))
    quizzes: dict[str, Quiz] = {}
    graded: dict[str, dict[int, set[str]]] = {}
    version = grader_version()
    n_subs = n_grades = n_essays = n_review = 0
    for first in range(0, len(subs), chunk):
        batch = subs[first : first + chunk]
        plans = []
        for sub in batch:
            if sub.quiz_id not in quizzes:
                quizzes[sub.quiz_id] = book.load_quiz(sub.quiz_id)
                graded[sub.quiz_id] = {}
                if not regrade:
                    for g in book.latest_grades(sub.quiz_id):
                        graded[sub.quiz_id].setdefault(g.submission_id, set()).add(g.item_id)
            skip = graded[sub.quiz_id].get(sub.id, set())
            plans.append(_plan(sub, quizzes[sub.quiz_id], skip))
        essays = [(task, text) for p in plans for _, task, text, _ in p.essays]
        if essays:
            if essay_grader is None:
                from grader.essay import EssayGrader

                essay_grader = EssayGrader()
            results = iter(essay_grader.grade_many(essays))
        for p in plans:
            done = 0
            if p.exact:
                made = book.record_grades(
                    p.sub.id, p.exact, grader="exact", grader_version=version, new_only=not regrade
                )
                done += len(made)
                n_review += sum(g.feedback.get("review", False) for g in made)
            if p.essays:
                scored = {}
                for item_id, _, _, points in p.essays:
                    r = next(results)
                    scored[item_id] = r.model_copy(update={"points": round(r.score * points, 10)})
                made = book.record_grades(
                    p.sub.id, scored, grader="essay", grader_version=version, new_only=not regrade
                )
                done += len(made)
                n_essays += len(made)
                n_review += sum(g.feedback.get("review", False) for g in made)
            n_grades += done
            n_subs += done > 0
        if on_progress is not None:
            on_progress(len(batch))
    return GradingRun(n_subs, n_grades, n_essays, n_review, time.perf_counter() - start,
                      tuple(sorted(quizzes)), skipped_lms)  # fmt: skip
