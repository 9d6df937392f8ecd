"""The ``gradebook`` commands end to end on a real quiz folder, on both backends; exports
neutralise every cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader.gradebook_cli import gradebook
from grader.result import GradeResult
from grader.store import Gradebook

ROSTER = """student_id,name,email
s001,=HYPERLINK("http://evil.example"),=evil@example.edu
s002,+Bob,bob@example.edu
s003,-2+3,+carol@example.edu
s004,Dana Ng,dana@example.edu
"""
RISKY = ("=", "+", "-", "@", "\t", "\r")
TOKENS = {i: f"token-{i}-{'x' * 30}" for i in range(1, 5)}


@pytest.fixture(scope="module")
def quiz_dir(tmp_path_factory, builtin_bank):
    from questions.cli import build_quiz

    root = tmp_path_factory.mktemp("cliquiz")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    items = sorted({builtin_bank.get(i).kind: i for i in builtin_bank.ids()}.values())
    folder = build_quiz(str(root / "roster.csv"), 3, str(root / "quiz"), items, (),
                        "=SUM(A1) midterm", force=False)  # fmt: skip
    rows = "".join(f"s00{i},{TOKENS[i]}\n" for i in range(1, 5))
    (folder / "private" / "tokens.csv").write_text("student_id,token\n" + rows, encoding="utf-8")
    return folder


def _run(*args: str):
    result = CliRunner().invoke(gradebook, list(args), catch_exceptions=True)
    return result


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_init_import_show_export(db_url, quiz_dir) -> None:
    from grader.db import NotInitialisedError
    from questions.quizdir import read_quiz

    refused = _run("import-quiz", str(quiz_dir), "--db", db_url)
    assert isinstance(refused.exception, NotInitialisedError)
    assert _run("init", "--db", db_url).exit_code == 0
    first = _run("import-quiz", str(quiz_dir), "--db", db_url, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] is True
    assert json.loads(first.output)["new_tokens"] == 4
    again = _run("import-quiz", str(quiz_dir), "--db", db_url)
    assert "nothing changed" in again.output

    policy = _run("policy", "--max-attempts", "2", "--deadline", "2030-01-01T09:00+01:00",
                  "--db", db_url, "--json")  # fmt: skip
    assert json.loads(policy.output)["deadline"] == "2030-01-01T08:00:00+00:00"
    naive = _run("policy", "--deadline", "2030-01-01T09:00", "--db", db_url)
    assert naive.exit_code == 2 and "timezone" in naive.output

    quiz = read_quiz(quiz_dir)
    with Gradebook(db_url).open() as book:  # a student submits; everything gets graded
        sid = quiz.students[0].student_id
        sub = book.submit_as(TOKENS[1], "c-1", {quiz.item_ids[0]: "-1.5"})
        assert sub.student_id == sid == "s001"
        book.record_grades(
            sub.id, {v.item_id: GradeResult.of(1, points=v.points) for v in quiz.variants[sid]},
            grader="exact", grader_version="1",
        )  # fmt: skip
    shown = json.loads(_run("show", "--db", db_url, "--json").output)
    assert [(q["quiz_id"], q["submissions"], q["pending"]) for q in shown] == [(quiz.quiz_id, 1, 0)]
    totals = json.loads(_run("show", "--quiz", quiz.quiz_id, "--db", db_url, "--json").output)
    assert totals[0]["points"] == totals[0]["max_points"] > 0

    for fmt in ("csv", "canvas", "moodle"):
        done = _run("export", "--format", fmt, "--db", db_url)
        assert done.exit_code == 0, done.output
        rows = _cells(done.output)
        assert len(rows) == 1 + len(quiz.students)
        assert not any(c.startswith(RISKY) for row in rows for c in row), rows
        assert any(c == '\'=HYPERLINK("http://evil.example")' for c in rows[1])
    audit = _cells(_run("export", "--submissions", "--db", db_url).output)
    assert audit[0][:3] == ["submission_id", "student_id", "client_id"]
    assert len(audit) == 1 + len(quiz.item_ids)
    assert audit[1][7] == "'-1.5"  # the raw answer, neutralised
    assert not any(c.startswith(RISKY) for row in audit for c in row)


def test_export_needs_a_quiz_when_there_are_several(tmp_path, small_quiz, other_quiz) -> None:
    from grader.db import NotFoundError

    db = str(tmp_path / "two.db")
    with Gradebook(db).init() as book:
        book.import_quiz(small_quiz)
        book.import_quiz(other_quiz)
    result = _run("export", "--db", db)
    assert isinstance(result.exception, NotFoundError) and "--quiz" in str(result.exception)
    chosen = _run("export", "--db", db, "--quiz", other_quiz.quiz_id, "--format", "moodle")
    assert chosen.exit_code == 0 and len(_cells(chosen.output)) == 1 + len(other_quiz.students)


def test_a_missing_sqlite_file_is_not_created(tmp_path) -> None:
    from grader.db import NotInitialisedError

    result = _run("show", "--db", str(tmp_path / "typo.db"))
    assert isinstance(result.exception, NotInitialisedError)
    assert not (tmp_path / "typo.db").exists()


def test_importing_the_cli_leaves_sqlalchemy_out() -> None:
    code = "import sys, grader.gradebook_cli; print('sqlalchemy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
