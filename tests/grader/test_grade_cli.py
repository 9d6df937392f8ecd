"""``grade essays`` and ``grade answers``: the interface scripts use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import COMMANDS, grade
from grader.errors import AnswersError
from grader.exact import misconception_values
from tests.imports import heavy_imports

GOOD = (
    "Beta is too low. The KL penalty keeps the policy close to the reference model; with a "
    "weak penalty the policy exploits the reward model and the text becomes repetitive."
)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _run(args: list[str]) -> list[dict]:
    result = CliRunner().invoke(grade, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_grade_essays_json(tmp_path, essay_grader) -> None:
    path = _write(tmp_path / "in.jsonl", [
        {"id": "a1", "item": "beta-diagnosis-essay", "answer": GOOD},
        {"id": "a2", "answer": "Beta is too high."},
        {"id": "a3", "answer": "   "},
        {"id": "a4", "answer": "word " * 300},
        {"id": "g1", "question": "What does the KL penalty in RLHF do?",
         "references": ["It keeps the policy close to the reference model."],
         "answer": "It keeps the policy near the original model."},
    ])  # fmt: skip
    rows = _run(["essays", str(path), "--item", "beta-diagnosis-essay", "--json"])
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4", "g1"]
    a1, a2, a3, a4, g1 = rows
    assert set(a1) == {"id", "score", "verdict", "feedback", "confidence", "review"}
    assert a1["score"] >= 0.85 and a1["verdict"] == "correct"
    assert a2["verdict"] == "contradictory" and a2["score"] <= 0.25
    assert a3 == {"id": "a3", "error": "the answer is empty"}
    assert "limit is 250" in a4["error"]
    assert g1["verdict"] == "correct" and 0.6 <= g1["confidence"] <= 1 and not g1["review"]


def test_grade_essays_text_output_and_errors(tmp_path, essay_grader) -> None:
    path = _write(tmp_path / "in.jsonl", [{"id": "a1", "answer": GOOD}])
    out = CliRunner().invoke(grade, ["essays", str(path), "--item", "beta-diagnosis-essay"])
    assert out.exit_code == 0 and out.output.startswith("a1: 0.9")
    assert "Right:" in out.output
    with pytest.raises(AnswersError, match=r"in\.jsonl:1: no 'item'"):
        CliRunner().invoke(grade, ["essays", str(path)], catch_exceptions=False)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a1", "answer": "x"}\n{oops\n', encoding="utf-8")
    with pytest.raises(AnswersError, match=r"bad\.jsonl:2: not JSON"):
        CliRunner().invoke(grade, ["essays", str(bad), "--item", "beta-diagnosis-essay"],
                           catch_exceptions=False)  # fmt: skip
    _write(bad, [{"id": "a1", "item": "clip-positive-advantage", "answer": "x"}])
    with pytest.raises(AnswersError, match="not an essay"):
        CliRunner().invoke(grade, ["essays", str(bad)], catch_exceptions=False)
    _write(bad, [{"id": "a1", "item": "beta-diagnosis-essay", "answer": "x"},
                 {"id": "a2", "item": "no-such-item", "answer": "x"}])  # fmt: skip
    with pytest.raises(AnswersError, match=r"bad\.jsonl:2: no item 'no-such-item' in the bank"):
        CliRunner().invoke(grade, ["essays", str(bad)], catch_exceptions=False)


@pytest.fixture(scope="module")
def small_quiz(tmp_path_factory, builtin_bank):
    from questions.generate import CompiledItem, generate_quiz
    from questions.quizdir import write_quiz
    from questions.variants import Student

    ids = ["clip-positive-advantage", "ratio-token-facts", "beta-diagnosis-essay"]
    specs = [builtin_bank.get(i) for i in ids]
    students = [Student(student_id=f"s{i}", name=f"S {i}", email=f"s{i}@x.edu") for i in (1, 2)]
    quiz = generate_quiz(specs, students, seed=5)
    out = tmp_path_factory.mktemp("quiz") / "quiz"
    write_quiz(quiz, {s.id: CompiledItem.build(s) for s in specs}, out)
    return out, quiz, specs


def test_grade_answers_over_a_quiz(tmp_path, small_quiz, essay_grader) -> None:
    folder, quiz, specs = small_quiz
    v_num, v_mc, _ = quiz.variants["s1"]
    unclipped = misconception_values(v_num, specs[0].misconceptions)["unclipped"]
    correct = ", ".join(o.label for o in v_mc.options if o.correct)
    key = f"= {v_num.answer.display()}"
    path = _write(tmp_path / "answers.jsonl", [
        {"student": "s1", "item": "clip-positive-advantage", "answer": key},
        {"student": "s2", "item": "clip-positive-advantage", "answer": "about NaN"},
        {"student": "s1", "item": "ratio-token-facts", "answer": correct},
        {"student": "s1", "item": "beta-diagnosis-essay", "answer": GOOD},
        {"student": "s1", "item": "clip-positive-advantage", "answer": f"{unclipped:.4f}"},
    ])  # fmt: skip
    rows = _run(["answers", "--quiz", str(folder), "--answers", str(path), "--json"])
    by = [(r["student"], r["item"]) for r in rows]
    assert by[:4] == [("s1", "clip-positive-advantage"), ("s2", "clip-positive-advantage"),
                      ("s1", "ratio-token-facts"), ("s1", "clip-positive-advantage")]
    num, nan, mc, mistake, essay = rows
    assert num["score"] == 1.0 and num["points"] == specs[0].points
    assert "NaN" in nan["error"]
    assert mc["score"] == 1.0
    assert mistake["score"] == 0.0 and "unclipped" in mistake["feedback"][0]
    assert essay["item"] == "beta-diagnosis-essay" and essay["verdict"] == "correct"
    assert essay["points"] == pytest.approx(essay["score"] * specs[2].points, abs=1e-3)
    with pytest.raises(AnswersError, match="no variant"):
        _write(path, [{"student": "nobody", "item": "ratio-token-facts", "answer": "A"}])
        CliRunner().invoke(grade, ["answers", "--quiz", str(folder), "--answers", str(path)],
                           catch_exceptions=False)  # fmt: skip


def test_the_cli_module_imports_no_torch() -> None:
    assert COMMANDS[0] is grade and [c.name for c in COMMANDS] == [
        "grade", "gradebook", "lms", "take", "submit", "status", "serve", "report", "demo",
    ]  # fmt: skip
    assert heavy_imports("grader.cli", ("torch", "sentence_transformers", "numpy")) == []
