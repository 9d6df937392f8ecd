"""The demo's whole loop: quiz, gradebook, simulated students, grading, report."""

from __future__ import annotations

from grader.demo_students import ESSAYS, STUFFED, simulate
from grader.store import Gradebook


def test_the_loop_stores_grades_and_reports(demo_run) -> None:
    run, lines = demo_run
    assert [line[:5] for line in lines] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert run.students == 12 and run.submitted == 12 and run.refused > 0
    with Gradebook(str(run.db)).open() as book:
        assert book.pending() == []
        grades = book.latest_grades(run.quiz_id)
        totals = book.totals(run.quiz_id)
    assert len(grades) == run.graded == run.students * run.items
    assert run.essays > 50 and run.review > 0
    misconceptions = {g.feedback.get("evidence", {}).get("misconception") for g in grades}
    assert "unclipped" in misconceptions
    assert {g.feedback["verdict"] for g in grades} >= {"correct", "incorrect", "contradictory",
                                                       "partially_correct"}  # fmt: skip
    top = max(t.max_points for t in totals)
    points = [t.points for t in totals]
    assert min(points) < 0.5 * top < max(points)  # mixed quality
    assert (run.folder / "students" / "s001.html").is_file()
    assert run.report.is_file() and len(list((run.folder / "report/students").glob("*.html"))) == 12
    assert sum(run.seconds.values()) < 60


def test_simulated_students_are_deterministic_and_never_copy_the_key(demo_run, builtin_bank):
    run, _ = demo_run
    with Gradebook(str(run.db)).open() as book:
        quiz = book.load_quiz(run.quiz_id)
    assert simulate(quiz, 2026) == simulate(quiz, 2026)
    assert simulate(quiz, 2026) != simulate(quiz, 2027)
    for item_id, answers in ESSAYS.items():
        references = builtin_bank.get(item_id).references
        for text in (*answers.values(), STUFFED):
            assert all(text.strip() not in ref and ref.strip() not in text for ref in references)
    kinds = {k for paper in simulate(quiz, 2026) for k in paper.kinds.values()}
    assert {"correct", "good", "partial", "wrong"} <= kinds
