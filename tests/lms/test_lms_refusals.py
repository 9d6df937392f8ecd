"""Bad response files import nothing: a missing column, unknown students or questions
(all listed in one line), exit code 2, and the gradebook's row counts unchanged."""

from __future__ import annotations

import csv
import io
import re
import sqlite3

import pytest

from tests.lms.lms_files import canvas_student_analysis, moodle_responses
from tests.lms.test_lms_round_trip import answer

TABLES = ("students", "quizzes", "variants", "submissions", "grades")


def _counts(db: str) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _edit(text: str, fn) -> str:
    """Rewrite a CSV (keeping Moodle's BOM): ``fn(rows) -> rows``."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    rows = fn(list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return bom + buf.getvalue()


def _drop(name: str):
    def fn(rows):
        k = rows[0].index(name)
        return [r[:k] + r[k + 1 :] for r in rows]

    return fn


@pytest.fixture(scope="module")
def files(quiz, exports):
    """A good file per LMS, and a gradebook-ready folder for each test."""
    given = answer(quiz)
    return {
        "canvas": canvas_student_analysis(quiz, exports["canvas"], given),
        "moodle": moodle_responses(quiz, exports["moodle"], given),
    }


@pytest.fixture
def db(cli, tmp_path, quiz_dir, files, quiz) -> str:
    """A gradebook holding the quiz and a first, good Canvas import of three students."""
    path = str(tmp_path / "course.db")
    assert cli("gradebook", "init", "--db", path)[0] == 0
    first = _edit(files["canvas"], lambda rows: rows[:4])
    (tmp_path / "first.csv").write_text(first, encoding="utf-8")
    code, _, err = cli("lms", "import-responses", "--format", "canvas", tmp_path / "first.csv",
                       "--quiz", quiz_dir, "--db", path)  # fmt: skip
    assert code == 0, err
    assert _counts(path)["submissions"] == 3
    return path


def _refused(cli, tmp_path, quiz_dir, db, fmt, text) -> str:
    before = _counts(db)
    path = tmp_path / f"bad-{fmt}.csv"
    path.write_text(text, encoding="utf-8", newline="")
    code, out, err = cli("lms", "import-responses", "--format", fmt, path, "--quiz", quiz_dir,
                         "--db", db)  # fmt: skip
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(path) in err
    assert _counts(db) == before
    return err


@pytest.mark.parametrize(("fmt", "column"), [("canvas", "sis_id"), ("canvas", "submitted"),
                                             ("moodle", "Email address")])  # fmt: skip
def test_a_missing_column_is_named(cli, tmp_path, quiz_dir, db, files, fmt, column) -> None:
    err = _refused(cli, tmp_path, quiz_dir, db, fmt, _edit(files[fmt], _drop(column)))
    assert f"missing column {column!r}" in err


def test_moodle_without_question_text_needs_it_for_drawn_items(cli, tmp_path, quiz_dir, db,
                                                               quiz, exports) -> None:  # fmt: skip
    text = moodle_responses(quiz, exports["moodle"], answer(quiz), question_text=False)
    err = _refused(cli, tmp_path, quiz_dir, db, "moodle", text)
    assert "missing column 'Question 1'" in err


def test_canvas_unknown_students_and_questions_are_all_listed(cli, tmp_path, quiz_dir, db,
                                                              files) -> None:  # fmt: skip
    def fn(rows):
        header, body = rows[0], rows[1:]
        k = header.index("n correct")
        header = header[:k] + ["4999: What is the capital of France?", "1.0"] + header[k:]
        body = [r[:k] + ["Paris", "1.0"] + r[k:] for r in body]
        stranger = list(body[0])
        stranger[0], stranger[2] = "Eve Intruder", "x999"
        return [header, *body, stranger, [*stranger[:2], "x998", *stranger[3:]]]

    text = _edit(files["canvas"], fn)
    err = _refused(cli, tmp_path, quiz_dir, db, "canvas", text)
    found = re.search(r"2 unknown students: 'x999' \(line (\d+)\), 'x998' \(line (\d+)\)", err)
    lines = text.splitlines()  # essays span lines: the numbers are the file's own
    assert found and all(lines[int(n) - 1].startswith("Eve Intruder,") for n in found.groups())
    assert "1 unknown question: column" in err and "capital of France" in err
    assert "nothing was imported" in err


def test_moodle_unknown_student_and_question(cli, tmp_path, quiz_dir, db, files) -> None:
    def fn(rows):
        stranger = list(rows[1])
        stranger[2] = "nobody@example.org"
        odd = list(rows[2])
        odd[rows[0].index("Question 4")] = "Which planet is largest?"
        return [rows[0], *rows[1:], stranger, odd]

    err = _refused(cli, tmp_path, quiz_dir, db, "moodle", _edit(files["moodle"], fn))
    assert "1 unknown student: 'nobody@example.org' (line 14)" in err
    assert "1 unknown question: Question 4, line 15 'Which planet is largest?'" in err


def test_moodle_in_slot_order_when_no_item_draws_variants(cli, tmp_path, embedder) -> None:
    """Without 'Question N' columns, slots are the quiz's items in order; that works when
    every item is one question in Moodle."""
    from importlib.resources import files as package_files

    from questions.cli import build_quiz
    from questions.export import export
    from questions.quizdir import read_quiz
    from tests.lms.conftest import CREATED

    roster = package_files("questions") / "data" / "sample_roster.csv"
    items = ["adaptive-kl-direction", "reward-hacking-signals", "kl-objective-essay"]
    folder = build_quiz(str(roster), 5, tmp_path / "quiz", items, (), "Concepts", False)
    quiz = read_quiz(folder)
    text = moodle_responses(quiz, export(quiz, "moodle", CREATED), answer(quiz),
                            question_text=False)  # fmt: skip
    assert "Question 1" not in text.splitlines()[0]
    db = str(tmp_path / "course.db")
    cli("gradebook", "init", "--db", db)
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    code, out, err = cli("lms", "import-responses", "--format", "moodle", tmp_path / "m.csv",
                         "--quiz", folder, "--db", db)  # fmt: skip
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(cli("gradebook", "export", "--format", "moodle",
                                           "--db", db)[1])))  # fmt: skip
    right = next(r for r in rows if r[2] == quiz.students[0].email)  # student 0: all right
    mc = sum(quiz.items[i].points for i in items[:2])
    assert float(right[3]) >= mc + 0.6 * quiz.items[items[2]].points


def test_the_same_attempt_with_other_answers_is_refused(cli, tmp_path, quiz_dir, db, files):
    """Importing a file again replays it; an attempt that changed is a conflict."""
    first = _edit(files["canvas"], lambda rows: rows[:4])

    def changed(rows):
        rows = rows[:4]
        k = next(i for i, h in enumerate(rows[0]) if h.startswith(tuple("0123456789")))
        rows[2][k] = rows[2][k] + "7" if rows[2][k] else "1"
        return rows

    path = tmp_path / "again.csv"
    path.write_text(first, encoding="utf-8")
    before = _counts(db)
    code, out, err = cli("lms", "import-responses", "--format", "canvas", path, "--quiz", quiz_dir,
                         "--db", db)  # fmt: skip
    assert code == 0 and "imported 0 canvas attempts" in out and "(3 already there)" in out
    assert _counts(db) == before
    err = _refused(cli, tmp_path, quiz_dir, db, "canvas", _edit(files["canvas"], changed))
    assert "is stored with other answers; nothing was imported" in err
