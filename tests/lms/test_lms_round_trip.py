"""The round trip on files shaped like the LMS's: export the quiz, let Canvas or Moodle
write its response file, import it, grade it, export grades, read them back as the LMS."""

from __future__ import annotations

import csv
import io
import json

import pytest

from grader.store import Gradebook
from tests.lms.conftest import TITLE
from tests.lms.lms_files import canvas_student_analysis, moodle_responses

BLANK = 5  # this student answers nothing


def answer(quiz):
    """What student ``i`` answers to a variant: right numbers unless i % 3 == 0, right
    options for even i, the reference essay for even i, nothing at all for BLANK."""

    def given(i: int, v):
        if i % 12 == BLANK:
            return None
        if v.kind == "numeric":
            value = v.answer.value
            return repr(value) if i % 3 else repr(value * 1.5 + 0.7)
        if v.kind == "multiple_choice":
            right = [o.label for o in v.options if o.correct]
            wrong = [o.label for o in v.options if not o.correct][:1]
            return right if i % 2 == 0 else wrong
        refs = quiz.items[v.item_id].references
        return refs[0] if i % 2 == 0 else "I think it is about tuning the learning rate."

    return given


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _import(cli, tmp_path, quiz_dir, fmt: str, text: str, db: str) -> list[dict]:
    path = tmp_path / f"{fmt}.csv"
    path.write_text(text, encoding="utf-8", newline="")
    code, out, err = cli("lms", "import-responses", "--format", fmt, path, "--quiz", quiz_dir,
                         "--db", db, "--json")  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_canvas_round_trip(cli, tmp_path, quiz_dir, quiz, exports, embedder) -> None:
    db = str(tmp_path / "course.db")
    assert cli("gradebook", "init", "--db", db)[0] == 0
    text = canvas_student_analysis(quiz, exports["canvas"], answer(quiz), attempts={"s002": 2})
    assert text.splitlines()[0].startswith("name,id,sis_id,section,section_id,section_sis_id,"
                                           "submitted,attempt,")  # fmt: skip
    done = _import(cli, tmp_path, quiz_dir, "canvas", text, db)
    assert len(done) == len(quiz.students) + 1 and not any(d["replayed"] for d in done)
    assert sorted(d["attempt_no"] for d in done if d["student_id"] == "s002") == [1, 2]
    with Gradebook(db).open() as book:
        subs = book.submissions(quiz.quiz_id)
        assert {s.source for s in subs} == {"canvas"} and not book.pending(quiz.quiz_id)
        _check_grades(book, quiz, skip={"s002"})  # s002 counts its 2nd try
        totals = {t.student_id: t.points for t in book.totals(quiz.quiz_id)}
        _check_graded_on_the_lms_variant(book, quiz, subs)

    code, out, _ = cli("gradebook", "export", "--format", "canvas", "--db", db)
    rows = _rows(out)
    # Canvas's GradebookImporter: Student, ID, SIS User ID, SIS Login ID, Section, then
    # assignments; rows matched on SIS User ID when ID is empty
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", TITLE]
    assert {r[2]: float(r[5]) for r in rows[1:]} == pytest.approx(totals)
    assert {r[3] for r in rows[1:]} == {s.email for s in quiz.students}

    again = _import(cli, tmp_path, quiz_dir, "canvas", text, db)  # replays, stores nothing
    assert all(d["replayed"] for d in again)
    assert [d["submission_id"] for d in again] == [d["submission_id"] for d in done]
    with Gradebook(db).open() as book:
        assert len(book.submissions(quiz.quiz_id)) == len(done)


def _check_grades(book: Gradebook, quiz, skip: set[str]) -> None:
    """Every item is graded on the variant the LMS showed: right numbers and options
    earn full marks, wrong ones nothing, a blank paper nothing; the reference essay
    scores well and the off-topic one poorly."""
    totals = {t.student_id: t for t in book.totals(quiz.quiz_id)}
    for i, s in enumerate(quiz.students):
        if s.student_id in skip:
            continue
        items = totals[s.student_id].items
        for item_id, points in items.items():
            spec = quiz.items[item_id]
            if i == BLANK:
                assert points == 0
            elif spec.kind == "numeric":
                assert points == (spec.points if i % 3 else 0), (s.student_id, item_id)
            elif spec.kind == "multiple_choice":
                assert points == (spec.points if i % 2 == 0 else 0), (s.student_id, item_id)
            elif i % 2 == 0:
                assert points >= 0.6 * spec.points, (s.student_id, item_id, points)
            else:
                assert points <= 0.5 * spec.points, (s.student_id, item_id, points)


def _check_graded_on_the_lms_variant(book, quiz, subs) -> None:
    """Full marks for numbers our own variant of that student would refuse: the grade
    follows the variant the LMS drew, not the one we generated for the student."""
    item = "kl-penalty-token"
    index = quiz.item_ids.index(item)
    full = {g.submission_id for g in book.latest_grades(quiz.quiz_id)
            if g.item_id == item and g.score == 1}  # fmt: skip
    own = {s.student_id: quiz.variants[s.student_id][index].answer for s in quiz.students}
    elsewhere = [s for s in subs if s.id in full
                 and not own[s.student_id].accepts(float(s.answers[item]))]  # fmt: skip
    assert elsewhere


def test_moodle_round_trip(cli, tmp_path, quiz_dir, quiz, exports, embedder) -> None:
    db = str(tmp_path / "course.db")
    assert cli("gradebook", "init", "--db", db)[0] == 0
    text = moodle_responses(quiz, exports["moodle"], answer(quiz), in_progress=("s003",))
    assert text.startswith("\ufeffSurname,First name,Email address,State,Started on,")
    done = _import(cli, tmp_path, quiz_dir, "moodle", text, db)
    assert len(done) == len(quiz.students)  # the unfinished attempt is not imported
    with Gradebook(db).open() as book:
        assert {s.source for s in book.submissions(quiz.quiz_id)} == {"moodle"}
        _check_grades(book, quiz, skip=set())
        totals = {t.student_id: t for t in book.totals(quiz.quiz_id)}

    code, out, _ = cli("gradebook", "export", "--format", "moodle", "--db", db)
    rows = _rows(out)
    assert rows[0][:3] == ["ID number", "Full name", "Email address"] and rows[0][3] == TITLE
    by_email = {r[2]: float(r[3]) for r in rows[1:]}
    assert by_email == pytest.approx({t.email: t.points for t in totals.values()})


@pytest.mark.parametrize("fmt", ["canvas", "moodle"])
def test_points_add_up_to_the_grade_file(cli, tmp_path, quiz_dir, quiz, exports, fmt,
                                         embedder) -> None:  # fmt: skip
    """The grade file's number is the sum of the stored item grades, row by row."""
    db = str(tmp_path / "course.db")
    cli("gradebook", "init", "--db", db)
    write = canvas_student_analysis if fmt == "canvas" else moodle_responses
    _import(cli, tmp_path, quiz_dir, fmt, write(quiz, exports[fmt], answer(quiz)), db)
    with Gradebook(db).open() as book:
        sums = {}
        for g in book.latest_grades(quiz.quiz_id):
            sums[g.student_id] = sums.get(g.student_id, 0) + g.points
    rows = _rows(cli("gradebook", "export", "--format", fmt, "--db", db)[1])
    key = 2 if fmt == "canvas" else 0
    col = 5 if fmt == "canvas" else 3
    assert {r[key]: float(r[col]) for r in rows[1:]} == pytest.approx(sums)


def test_a_regrade_leaves_lms_attempts_as_the_lms_variant_graded_them(
    cli, tmp_path, quiz_dir, quiz, exports, embedder
) -> None:
    """The variant the LMS showed is not stored, only the response: ``grade --regrade``
    would grade the response against the student's own variant, so it skips these
    attempts, says so, and regrades only our own submissions."""
    from grader.lms import FORMATS
    from grader.records import LMS_SOURCES

    assert set(FORMATS) == LMS_SOURCES  # every LMS import is recognised as one
    db = str(tmp_path / "course.db")
    assert cli("gradebook", "init", "--db", db)[0] == 0
    done = _import(cli, tmp_path, quiz_dir, "moodle",
                   moodle_responses(quiz, exports["moodle"], answer(quiz)), db)  # fmt: skip
    with Gradebook(db).open() as book:
        imported = {g.id for g in book.latest_grades(quiz.quiz_id)}
        sid = quiz.students[0].student_id
        own = book.submit(sid, quiz.quiz_id, "own-1", {quiz.item_ids[0]: "1"}, source="file")
    code, out, err = cli("grade", "--db", db, "--regrade")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"regraded 1 submissions: {len(quiz.item_ids)} grades"), out
    assert lines[1:] == [
        f"skipped {len(done)} LMS-imported submissions: graded by the LMS's variant"
    ]  # fmt: skip
    with Gradebook(db).open() as book:
        latest = book.latest_grades(quiz.quiz_id)
        assert {g.id for g in latest if g.submission_id != own.id} == imported
        assert {g.version for g in latest} == {1}
        _check_grades(book, quiz, skip={sid})
