"""``alignquiz grade`` over a real SQLite gradebook: pending, partial, regrade; the real
essay model."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader.exact import misconception_values
from grader.pending import NO_ANSWER, grade_pending, targets
from grader.result import GradeResult
from tests.instructor.conftest import GOOD_ESSAY, ITEMS

NUMERIC, CHOICE, ESSAY = ITEMS


def _answers(quiz) -> dict[str, dict[str, str]]:
    """s001 right everywhere; s002 the unclipped r*A, a wrong option, the wrong stance;
    s003 an unreadable stored number and no essay. s004 submits nothing."""
    out = {}
    for sid in ("s001", "s002", "s003"):
        v = {x.item_id: x for x in quiz.variants[sid]}
        right = next(o.label for o in v[CHOICE].options if o.correct)
        wrong = next(o.label for o in v[CHOICE].options if not o.correct)
        unclipped = misconception_values(v[NUMERIC], quiz.items[NUMERIC].misconceptions)
        out[sid] = {
            "s001": {NUMERIC: f"{v[NUMERIC].answer.value:.4f}", CHOICE: right, ESSAY: GOOD_ESSAY},
            "s002": {NUMERIC: f"{unclipped['unclipped']:.4f}", CHOICE: wrong,
                     ESSAY: "Beta is too high: the penalty is far too strong."},
            "s003": {NUMERIC: "n/a", CHOICE: right},
        }[sid]  # fmt: skip
    return out


def _submit_all(book, quiz) -> dict[str, int]:
    return {sid: book.submit(sid, quiz.quiz_id, "c1", answers, source="file").id
            for sid, answers in _answers(quiz).items()}  # fmt: skip


def test_grades_everything_pending_once(tiny_book, tiny_quiz, essay_grader) -> None:
    book, quiz = tiny_book, tiny_quiz
    ids = _submit_all(book, quiz)
    seen: list[int] = []
    run = grade_pending(book, essay_grader=essay_grader, on_start=seen.append,
                        on_progress=seen.append, chunk=2)  # fmt: skip
    assert seen == [3, 2, 1]  # the total, then each chunk
    assert (run.submissions, run.grades, run.essays) == (3, 9, 2)
    assert book.pending() == []
    latest = {(g.student_id, g.item_id): g for g in book.latest_grades(quiz.quiz_id)}
    assert {g.version for g in latest.values()} == {1}

    assert latest["s001", NUMERIC].score == 1 and latest["s001", CHOICE].score == 1
    assert latest["s001", ESSAY].score >= 0.8 and latest["s001", ESSAY].grader == "essay"
    points = quiz.items[ESSAY].points
    assert latest["s001", ESSAY].points == pytest.approx(latest["s001", ESSAY].score * points)
    misconception = latest["s002", NUMERIC].feedback
    assert misconception["evidence"] == {"misconception": "unclipped"}
    assert latest["s002", CHOICE].score == 0
    assert latest["s002", ESSAY].feedback["verdict"] == "contradictory"
    assert latest["s002", ESSAY].score <= 0.25
    assert latest["s003", NUMERIC].score == 0
    unread = latest["s003", NUMERIC].feedback["feedback"][0]
    assert unread.startswith("The answer could not be read")
    assert latest["s003", ESSAY].feedback["feedback"] == [NO_ANSWER]
    assert latest["s003", ESSAY].grader == "exact"  # nothing to send to the model

    again = grade_pending(book, essay_grader=essay_grader)
    assert (again.submissions, again.grades) == (0, 0)
    assert len(book.grade_history(ids["s001"])) == 3


def test_only_the_missing_items_are_graded(tiny_book, tiny_quiz, essay_grader) -> None:
    book, quiz = tiny_book, tiny_quiz
    ids = _submit_all(book, quiz)
    hand = GradeResult.of(0.5, points=quiz.items[ESSAY].points, feedback=["by hand"])
    book.record_grades(ids["s001"], {ESSAY: hand}, grader="human", grader_version="1")
    assert [s.id for s in targets(book, quiz.quiz_id, regrade=False)] == sorted(ids.values())
    run = grade_pending(book, quiz_id=quiz.quiz_id, essay_grader=essay_grader)
    assert run.grades == 8 and run.essays == 1
    history = book.grade_history(ids["s001"], ESSAY)
    assert [(g.version, g.grader, g.score) for g in history] == [(1, "human", 0.5)]


def test_regrade_adds_a_version_and_keeps_the_history(tiny_book, tiny_quiz, essay_grader):
    book, quiz = tiny_book, tiny_quiz
    ids = _submit_all(book, quiz)
    grade_pending(book, essay_grader=essay_grader)
    before = {(g.submission_id, g.item_id): g for g in book.latest_grades(quiz.quiz_id)}
    run = grade_pending(book, regrade=True, essay_grader=essay_grader)
    assert (run.submissions, run.grades, run.essays) == (3, 9, 2)
    after = {(g.submission_id, g.item_id): g for g in book.latest_grades(quiz.quiz_id)}
    assert set(after) == set(before)
    for key, g in after.items():
        assert g.version == 2 and g.score == pytest.approx(before[key].score)
    assert [g.version for g in book.grade_history(ids["s002"], NUMERIC)] == [1, 2]


def test_the_grade_command(tmp_path, tiny_book, tiny_quiz, embedder, run_cli) -> None:
    from grader.cli import grade

    _submit_all(tiny_book, tiny_quiz)
    db = tiny_book.db
    first = CliRunner().invoke(grade, ["--db", db, "--json"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert {k: summary[k] for k in ("submissions", "grades", "essays", "quizzes")} == {
        "submissions": 3, "grades": 9, "essays": 2, "quizzes": [tiny_quiz.quiz_id]}  # fmt: skip
    flagged = sum(g.feedback["review"] for g in tiny_book.latest_grades(tiny_quiz.quiz_id))
    assert summary["review"] == flagged
    text = CliRunner().invoke(grade, ["--db", db, "--regrade", "--quiz", tiny_quiz.quiz_id])
    assert text.exit_code == 0 and text.output.startswith("regraded 3 submissions: 9 grades")
    missing = run_cli("grade", "--db", str(tmp_path / "nothing.db"))
    assert missing.returncode == 2 and "no gradebook at" in missing.stderr
    assert not (tmp_path / "nothing.db").exists()
    assert missing.stderr.count("\n") == 1


def _lms_attempt(book, quiz, sid: str, client_id: str, fmt: str, graded: bool) -> int:
    """An attempt stored as ``lms import-responses`` stores it (``source`` canvas or
    moodle); ``graded``: with the grades it got at import on the LMS's variant."""
    sub = book.submit(sid, quiz.quiz_id, client_id, {NUMERIC: "0.123", CHOICE: "A"}, source=fmt)
    paper = quiz.variants[sid][:3] if graded else quiz.variants[sid][:1]
    book.record_grades(sub.id, {v.item_id: GradeResult.of(1, points=v.points) for v in paper},
                       grader="exact", grader_version=f"1+{fmt}")  # fmt: skip
    return sub.id


def test_lms_imported_submissions_are_never_graded_from_our_variant(tiny_book, tiny_quiz):
    """They were graded on the variant the LMS showed (not stored): a regrade, or a
    pending run, would grade their answers against the student's own variant instead."""
    from grader.cli import grade

    book, quiz = tiny_book, tiny_quiz
    canvas = _lms_attempt(book, quiz, "s001", "canvas-1", "canvas", graded=True)
    moodle = _lms_attempt(book, quiz, "s002", "moodle-1", "moodle", graded=False)  # partial
    own = book.submit("s003", quiz.quiz_id, "c1", _answers(quiz)["s003"], source="file").id
    imported = {g.id for g in book.grade_history(canvas) + book.grade_history(moodle)}

    assert [s.id for s in targets(book, quiz.quiz_id, regrade=False)] == [own]
    run = grade_pending(book)  # s003 has no essay: the model is not needed
    assert (run.submissions, run.grades, run.skipped_lms) == (1, 3, 1)
    assert run.skipped_message() == (
        "skipped 1 LMS-imported submission: graded by the LMS's variant"
    )
    assert [s.id for s in targets(book, None, regrade=True)] == [own]
    again = CliRunner().invoke(grade, ["--db", book.db, "--regrade", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output)
    assert (summary["submissions"], summary["grades"], summary["skipped_lms"]) == (1, 3, 2)
    text = CliRunner().invoke(grade, ["--db", book.db, "--regrade"])
    assert text.exit_code == 0, text.output
    assert text.output.splitlines()[1:] == [
        "skipped 2 LMS-imported submissions: graded by the LMS's variant"
    ]
    assert {g.id for g in book.grade_history(canvas) + book.grade_history(moodle)} == imported
    assert [g.version for g in book.grade_history(own, NUMERIC)] == [1, 2, 3]


class _ServerFirst:
    """An essay grader during whose batch another grader (the server) grades every
    pending submission: the grading run then finds its work done when it writes."""

    def __init__(self, book, quiz):
        self.book, self.quiz = book, quiz

    def grade_many(self, pairs):
        for sub in self.book.pending(self.quiz.quiz_id):
            paper = self.quiz.variants[sub.student_id]
            self.book.record_grades(
                sub.id, {v.item_id: GradeResult.of(0.25, points=v.points) for v in paper},
                grader="server", grader_version="1",
            )  # fmt: skip
        return [GradeResult.of(1.0, points=1.0) for _ in pairs]


def test_a_concurrent_grader_of_the_same_submissions_adds_no_second_version(
    tiny_book, tiny_quiz
) -> None:
    book, quiz = tiny_book, tiny_quiz
    ids = _submit_all(book, quiz)
    run = grade_pending(book, essay_grader=_ServerFirst(book, quiz))
    assert (run.submissions, run.grades, run.essays) == (0, 0, 0)
    for sub_id in ids.values():
        history = book.grade_history(sub_id)
        assert [(g.version, g.grader) for g in history] == [(1, "server")] * len(quiz.item_ids)
