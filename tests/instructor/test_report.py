"""``alignquiz report``: the HTML report and the feedback pages, from a real graded
gradebook; escaped, self-contained, the least certain essays first."""

from __future__ import annotations

import base64
import re

from click.testing import CliRunner

from grader.analysis import analyse
from grader.pending import grade_pending
from grader.report import CERTAIN_AT, build_context, write_report
from tests.instructor.conftest import GOOD_ESSAY, ITEMS

NUMERIC, CHOICE, ESSAY = ITEMS
SCRIPT = "<script>alert('x')</script>"


def _graded(book, quiz, essay_grader):
    for sid, essay in (("s001", GOOD_ESSAY), ("s002", f"Beta is too high. {SCRIPT}"),
                       ("s003", "Beta may be too high or too low; it depends.")):  # fmt: skip
        book.submit(sid, quiz.quiz_id, "c1", {ESSAY: essay, NUMERIC: "1.5"})
    grade_pending(book, essay_grader=essay_grader)
    return book


def test_report_pages(tmp_path, tiny_book, tiny_quiz, essay_grader) -> None:
    book = _graded(tiny_book, tiny_quiz, essay_grader)
    files = write_report(book, tiny_quiz.quiz_id, tmp_path / "report")
    index = files.index.read_text(encoding="utf-8")
    analysis = analyse(book, tiny_quiz.quiz_id)

    png = files.plot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in index
    assert not re.search(r"(src|href)=\"(https?:)?//", index)  # self-contained, no CDN
    assert "<script" not in index and "Student &lt;2&gt;" in index  # autoescaped
    assert f"<b>{analysis.alpha:.2f}</b>" in index
    flagged = [s for s in analysis.items if s.flagged]
    assert index.count('<span class="tag">low discrimination</span>') == len(flagged)

    assert sorted(p.name for p in files.students) == ["s001.html", "s002.html", "s003.html"]
    page = (tmp_path / "report" / "students" / "s002.html").read_text(encoding="utf-8")
    assert "Student &lt;2&gt;" in page and "&lt;script&gt;" in page and "<script" not in page
    assert "No answer was given." in page  # the multiple choice left blank
    assert GOOD_ESSAY not in page  # another student's essay is not on this page
    total = next(t for t in book.totals(tiny_quiz.quiz_id) if t.student_id == "s002")
    assert f"<b>{total.points:.1f} / {total.max_points:g}</b>" in page


def test_least_certain_essays_come_first(tiny_book, tiny_quiz, essay_grader) -> None:
    book = _graded(tiny_book, tiny_quiz, essay_grader)
    context = build_context(book, tiny_quiz.quiz_id)
    review = context["review"]
    assert review and review[0]["student_id"] == "s003"  # the hedge is flagged for review
    keys = [(not r["review"], float(r["confidence"])) for r in review]
    assert keys == sorted(keys)
    assert all(r["review"] or float(r["confidence"]) < CERTAIN_AT for r in review)
    assert context["n_essays"] == 3


def test_report_command(tmp_path, tiny_book, tiny_quiz, essay_grader) -> None:
    from grader.instructor_cli import report

    _graded(tiny_book, tiny_quiz, essay_grader)
    out = tmp_path / "r"
    done = CliRunner().invoke(report, ["--db", tiny_book.db, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"written to {out / 'index.html'} (3 student pages" in done.output
    assert (out / "index.html").is_file() and (out / "score-distribution.png").is_file()
