"""What the server does for a token: its paper, its status, submit-and-grade, feedback.

:class:`SubmissionService` sits between the HTTP layer (:mod:`grader.server`) and the
gradebook (:class:`grader.store.Gradebook`); it knows nothing of HTTP. For a submission:

1. resolve the token (``UnknownTokenError`` otherwise) and read the quiz's policy;
2. parse every answer against its variant: a format error refuses the whole body,
   naming the item, and stores nothing (it costs no attempt);
3. store the attempt (the store applies the Idempotency-Key rule, the deadline and the
   attempt limit inside one write transaction);
4. grade what has no grade yet: numeric and multiple choice at once, unanswered items
   as 0, essays with the embedding model when it is there (``essays="auto"``);
5. answer the submission as the student may see it under the release policy.

Step 4 also runs when a stored submission is read or replayed, so a server killed
between storing and grading finishes the job on the next request. One lock per
submission (striped) keeps two concurrent replays from grading twice; across processes
(another server, ``alignquiz grade``) the grades are written with ``new_only``, so an
item graded meanwhile keeps its one version. An LMS-imported submission is never graded
here: the LMS's variant graded it at import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from grader.api import (
    FormatRefused,
    ItemResult,
    PaperItem,
    PaperOut,
    PolicyOut,
    StatusOut,
    SubmissionBrief,
    SubmissionOut,
    parse_answer,
)
from grader.parse import FormatError

if TYPE_CHECKING:
    from grader.records import QuizPolicy, SubmissionRecord
    from grader.result import GradeResult
    from grader.store import Gradebook
    from questions.variants import Quiz, Variant

__all__ = ["SubmissionService", "open_service", "released"]

log = logging.getLogger("alignquiz.server")
NO_ANSWER = "No answer was given."
_STRIPES = 64


def released(policy: QuizPolicy, now: datetime) -> bool:
    """Whether graded feedback may be shown now: at once, or once the deadline passed
    (``after_deadline`` without a deadline shows nothing until one is set)."""
    if policy.release == "immediately":
        return True
    return policy.deadline is not None and now >= policy.deadline


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alignquiz")
    except PackageNotFoundError:
        return "0"


def open_service(db: str, quiz_dir: str | None, essays: str) -> SubmissionService:
    """Open (with ``quiz_dir``: create if needed and import the quiz and its tokens)."""
    from grader.access import read_tokens_csv
    from grader.store import Gradebook
    from questions.quizdir import read_quiz

    if quiz_dir is None:
        return SubmissionService(Gradebook(db).open(), essays)
    quiz = read_quiz(quiz_dir)
    book = Gradebook(db).init()
    book.import_quiz(quiz)
    tokens_csv = Path(quiz_dir) / "private" / "tokens.csv"
    if tokens_csv.is_file():
        book.issue_tokens(quiz.quiz_id, read_tokens_csv(tokens_csv))
    else:
        log.warning("%s has no tokens: no student can sign in until some are issued", tokens_csv)
    return SubmissionService(book, essays)


class SubmissionService:
    """The server's work over one open gradebook; ``essays`` is ``auto`` or ``off``."""

    def __init__(self, book: Gradebook, essays: str = "auto"):
        self.book = book
        self.essays = essays
        self._quizzes: dict[str, Quiz] = {}
        self._quiz_lock = threading.Lock()
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._essay_lock = threading.Lock()
        self._essay_model: bool | None = None  # None: not tried yet

    def close(self) -> None:
        self.book.close()

    # ------------------------------------------------------------------ reads
    def _quiz(self, quiz_id: str) -> Quiz:
        """The quiz as imported (immutable: its digest is checked), loaded once."""
        with self._quiz_lock:
            if quiz_id not in self._quizzes:
                self._quizzes[quiz_id] = self.book.load_quiz(quiz_id)
            return self._quizzes[quiz_id]

    def _paper(self, quiz: Quiz, student_id: str) -> tuple[Variant, ...]:
        return quiz.variants[student_id]

    def _max_words(self, quiz: Quiz, item_id: str) -> int | None:
        return getattr(quiz.items[item_id], "max_words", None)

    def paper(self, token: str) -> PaperOut:
        owner = self.book.owner_of(token)
        quiz, policy = self._quiz(owner.quiz_id), self.book.policy(owner.quiz_id)
        items = [
            PaperItem(**v.student_item().model_dump(), max_words=self._max_words(quiz, v.item_id))
            for v in self._paper(quiz, owner.student_id)
        ]
        return PaperOut(quiz_id=quiz.quiz_id, title=quiz.title, student_id=owner.student_id,
                        items=items, policy=_policy_out(policy))  # fmt: skip

    def status(self, token: str, now: datetime | None = None) -> StatusOut:
        now = now or datetime.now(UTC)
        owner = self.book.owner_of(token)
        policy = self.book.policy(owner.quiz_id)
        subs = self.book.submissions(owner.quiz_id, owner.student_id)
        left = None if policy.max_attempts is None else max(0, policy.max_attempts - len(subs))
        is_open = (policy.deadline is None or now <= policy.deadline) and left != 0
        return StatusOut(
            quiz_id=owner.quiz_id, student_id=owner.student_id, attempts_used=len(subs),
            max_attempts=policy.max_attempts, attempts_left=left, deadline=policy.deadline,
            release=policy.release, open=is_open,
            submissions=[SubmissionBrief(submission_id=s.id, client_id=s.client_id,
                                         attempt=s.attempt_no, submitted_at=s.submitted_at)
                         for s in subs],
        )  # fmt: skip

    def submission(self, token: str, submission_id: int) -> SubmissionOut:
        from grader.db import NotFoundError

        owner = self.book.owner_of(token)
        found = [s for s in self.book.submissions(owner.quiz_id, owner.student_id)
                 if s.id == submission_id]  # fmt: skip
        if not found:
            raise NotFoundError(f"you have no submission {submission_id}")
        quiz = self._quiz(owner.quiz_id)
        latest = self._grade(quiz, found[0])
        return self._view(quiz, found[0], self.book.policy(owner.quiz_id), latest)

    # ------------------------------------------------------------------ submit
    def submit(self, token: str, client_id: str, answers: Mapping[str, str]) -> SubmissionOut:
        """Check, store and grade one attempt (or answer the stored one for a replay)."""
        from grader.db import InvalidInputError
        from grader.records import check_answers, field_name

        owner = self.book.owner_of(token)
        quiz = self._quiz(owner.quiz_id)
        paper = {v.item_id: v for v in self._paper(quiz, owner.student_id)}
        for item_id, raw in check_answers(answers).items():
            where = f"answers.{field_name(item_id)}"
            if item_id not in paper:
                raise InvalidInputError("no such item on your paper", field=where)
            parsed = parse_answer(paper[item_id], raw, self._max_words(quiz, item_id))
            if isinstance(parsed, FormatError):
                raise FormatRefused(parsed.message, field=where)
        policy = self.book.policy(owner.quiz_id)
        sub = self.book.submit(
            owner.student_id, owner.quiz_id, client_id, answers,
            max_attempts=policy.max_attempts, deadline=policy.deadline,
        )  # fmt: skip
        latest = self._grade(quiz, sub)
        return self._view(quiz, sub, policy, latest)

    # ------------------------------------------------------------------ grading
    def _grade(self, quiz: Quiz, sub: SubmissionRecord) -> dict:
        """Grade every item of ``sub`` that has no grade yet (and can be graded here);
        return the newest grade of each graded item. The grades are read under the lock
        even for a submission just stored: a concurrent replay may have graded it."""
        from grader.exact import grade
        from grader.result import GradeResult

        with self._stripes[sub.id % _STRIPES]:
            latest = {g.item_id: g for g in self.book.grade_history(sub.id)}  # newest wins
            if sub.lms_imported:  # graded at import on the LMS's variant, never on ours
                return latest
            exact: dict[str, GradeResult] = {}
            essays: list[Variant] = []
            for v in self._paper(quiz, sub.student_id):
                raw = sub.answers.get(v.item_id)
                if v.item_id in latest:
                    continue
                if raw is None:
                    exact[v.item_id] = GradeResult.of(0.0, points=v.points, feedback=[NO_ANSWER])
                    continue
                parsed = parse_answer(v, raw, self._max_words(quiz, v.item_id))
                if isinstance(parsed, FormatError):  # stored by another route (an import)
                    exact[v.item_id] = GradeResult.of(
                        0.0, points=v.points, feedback=[f"The answer could not be read: "
                                                        f"{parsed.message}"])  # fmt: skip
                elif v.kind == "essay":
                    essays.append(v)
                else:
                    exact[v.item_id] = grade(v, parsed, quiz.items[v.item_id])
            beaten = self._record(sub, exact, "exact", latest)
            graded = self._grade_essays(quiz, sub, essays) if essays else {}
            beaten += self._record(sub, graded, "essay", latest)
            if beaten:  # another process (alignquiz grade) graded some items first
                latest = {g.item_id: g for g in self.book.grade_history(sub.id)}
            return latest

    def _record(self, sub: SubmissionRecord, results: dict, grader: str, latest: dict) -> int:
        """Record ``results`` where the items still have no grade (``new_only``: another
        process may have graded one meanwhile), update ``latest``; return how many items
        were found graded already."""
        if not results:
            return 0
        made = self.book.record_grades(
            sub.id, results, grader=grader, grader_version=_version(), new_only=True
        )
        latest.update((g.item_id, g) for g in made)
        return len(results) - len(made)

    def _grade_essays(self, quiz: Quiz, sub: SubmissionRecord, essays: list[Variant]) -> dict:
        """Essay grades, or {} when essays are off or the model is not installed."""
        if self.essays != "auto" or self._essay_model is False:
            return {}
        from grader.errors import ModelError
        from grader.exact import grade

        with self._essay_lock:  # one model, one batch at a time
            try:
                if self._essay_model is None:
                    from grader.embedding import get_embedder

                    get_embedder()  # loaded once per process, on the first essay
                    self._essay_model = True
                return {v.item_id: grade(v, parse_answer(v, sub.answers[v.item_id],
                                                         self._max_words(quiz, v.item_id)),
                                         quiz.items[v.item_id])
                        for v in essays}  # fmt: skip
            except (ModelError, ImportError) as exc:
                self._essay_model = False
                log.warning("essays stay pending (grade them with 'alignquiz grade'): %s", exc)
                return {}

    # ------------------------------------------------------------------ views
    def _view(
        self, quiz: Quiz, sub: SubmissionRecord, policy: QuizPolicy, latest: dict
    ) -> SubmissionOut:
        """``sub`` as its student may see it now (``latest``: the newest grade per item)."""
        shown = released(policy, datetime.now(UTC))
        items = []
        for v in self._paper(quiz, sub.student_id):
            g = latest.get(v.item_id)
            status = "pending" if g is None else "graded" if shown else "held"
            extra = {}
            if status == "graded":
                assert g is not None
                extra = {"points": g.points, "score": g.score, "verdict": g.feedback.get("verdict"),
                         "feedback": list(g.feedback.get("feedback", []))}  # fmt: skip
            items.append(ItemResult(item_id=v.item_id, status=status, max_points=v.points,
                                    answered=v.item_id in sub.answers, **extra))  # fmt: skip
        statuses = {i.status for i in items}
        status = "pending" if "pending" in statuses else "held" if "held" in statuses else "graded"
        score = sum(i.points or 0.0 for i in items) if status == "graded" else None
        return SubmissionOut(
            submission_id=sub.id, client_id=sub.client_id, attempt=sub.attempt_no,
            submitted_at=sub.submitted_at, status=status, score=score,
            max=sum(v.points for v in self._paper(quiz, sub.student_id)),
            replayed=sub.replayed, released=shown, items=items,
        )  # fmt: skip


def _policy_out(policy: QuizPolicy) -> PolicyOut:
    return PolicyOut(max_attempts=policy.max_attempts, deadline=policy.deadline,
                     release=policy.release)  # fmt: skip
