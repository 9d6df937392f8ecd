"""Quiz generation: per-student variants, byte-identical outputs, no key in student files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from questions import ppo_math
from questions.quizdir import read_quiz

ROSTER = "student_id,name,email\n" + "".join(
    f"s{i:03d},Student {i},s{i:03d}@example.edu\n" for i in range(1, 9)
)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def quiz_dir(tmp_path_factory, builtin_bank):
    from questions.cli import build_quiz

    base = tmp_path_factory.mktemp("gen")
    roster = base / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    return build_quiz(roster, 11, base / "quiz", None, (), "Midterm", False)


def test_layout_and_student_view(quiz_dir, builtin_bank):
    files = set(tree_digest(quiz_dir))
    students = [f"s{i:03d}" for i in range(1, 9)]
    assert {f"students/{s}.{ext}" for s in students for ext in ("md", "html")} <= files
    assert {"quiz.json", "private/quiz.json", "private/key.json", "private/roster.csv"} <= files
    view = json.loads((quiz_dir / "quiz.json").read_text())
    assert [p["student_id"] for p in view["papers"]] == students
    assert all(len(p["items"]) == len(builtin_bank) for p in view["papers"])


def test_same_inputs_give_byte_identical_outputs(quiz_dir, tmp_path):
    from questions.cli import build_quiz

    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    again = build_quiz(roster, 11, tmp_path / "again", None, (), "Midterm", False)
    assert tree_digest(again) == tree_digest(quiz_dir)
    other = build_quiz(roster, 12, tmp_path / "other", None, (), "Midterm", False)
    assert tree_digest(other)["quiz.json"] != tree_digest(quiz_dir)["quiz.json"]


def test_no_student_artefact_contains_a_key(quiz_dir):
    made = read_quiz(quiz_dir)
    secrets: set[str] = set()
    for spec in made.items.values():
        if spec.kind == "essay":
            secrets.update(spec.references)
            secrets.update(ex for c in spec.rubric.concepts for ex in c.examples)
        if spec.kind == "multiple_choice":
            secrets.update(o.feedback for o in spec.options if "{{" not in o.feedback)
        if len(spec.explanation) > 40 and "{{" not in spec.explanation:
            secrets.add(spec.explanation)
    student_files = [p for p in quiz_dir.rglob("*") if p.is_file() and "private" not in p.parts]
    figures = [p for p in student_files if p.parent.name == "figures"]
    shown = {v.exhibit.figure for vs in made.variants.values() for v in vs
             if v.exhibit and v.exhibit.figure}  # fmt: skip
    assert sorted(p.name for p in figures) == sorted(shown) and len(shown) >= 3
    assert len(student_files) == 17 + len(figures)
    # captions and alt texts are student-visible: no verdict, no beta, no explanation
    for spec in made.items.values():
        if spec.evidence is not None and spec.evidence.show != "none":
            caption = spec.evidence.caption.lower()
            for word in ("hack", "healthy", "stuck", "too low", "too high", "beta", "β"):
                assert word not in caption, (spec.id, word)
    for path in student_files:
        if path in figures:
            assert path.read_bytes().startswith(b"\x89PNG")
            continue
        text = path.read_text(encoding="utf-8")
        leaked = [s[:50] for s in secrets if s.strip() and s.strip() in text]
        assert not leaked, (path, leaked)
        for word in ('"correct"', '"answer"', '"rubric"', '"references"', '"feedback"',
                     '"explanation"', '"params"', '"seed"'):  # fmt: skip
            assert word not in text, (path, word)
    view = json.loads((quiz_dir / "quiz.json").read_text())
    item_keys = {k for p in view["papers"] for i in p["items"] for k in i}
    assert item_keys == {"item_id", "kind", "title", "points", "prompt", "options", "multiple",
                         "exhibit"}  # fmt: skip
    exhibit_keys = {k for p in view["papers"] for i in p["items"] if i["exhibit"]
                    for k in i["exhibit"]}  # fmt: skip
    assert exhibit_keys == {"sweep", "figure", "samples", "caption"}  # file name, not bytes


def test_keys_are_computed_from_the_displayed_values(quiz_dir, run_cli):
    result = run_cli("quiz", "key", str(quiz_dir), "--json")
    assert result.returncode == 0, result.stderr
    key = json.loads(result.stdout)
    made = read_quiz(quiz_dir)
    assert set(key) == {s.student_id for s in made.students}
    for sid, items in key.items():
        entry = items["clip-positive-advantage"]
        p = entry["params"]
        assert entry["answer"] == pytest.approx(
            ppo_math.clipped_surrogate(p["ratio"], p["advantage"], p["clip_eps"]), abs=1e-9)
        assert p["ratio"] > 1 + p["clip_eps"] and p["advantage"] > 0
        paper = (quiz_dir / "students" / f"{sid}.md").read_text()
        for name in ("ratio", "advantage", "clip_eps"):
            shown = next(v.display[name] for v in made.variants[sid]
                         if v.item_id == "clip-positive-advantage")  # fmt: skip
            assert float(shown) == p[name] and shown in paper
        mcq = items["beta-diagnosis-mcq"]["answer"]
        assert isinstance(mcq, list) and len(mcq) == 1 and "low" in mcq[0].lower()
    params = {json.dumps(k["clip-positive-advantage"]["params"]) for k in key.values()}
    assert len(params) >= 6  # students get their own numbers


def test_options_are_shuffled_per_student_and_keyed_by_text(quiz_dir):
    made = read_quiz(quiz_dir)
    orders = {tuple(o.source_index for o in v.options)
              for vs in made.variants.values() for v in vs if v.item_id == "beta-diagnosis-mcq"}
    assert len(orders) >= 3
    for vs in made.variants.values():
        for v in vs:
            spec = made.items[v.item_id]
            if v.kind == "multiple_choice":
                assert [o.text for o in v.options if o.correct] == [
                    spec.options[o.source_index].text for o in v.options
                    if spec.options[o.source_index].correct]  # fmt: skip
                assert v.choice_score({o.label for o in v.options if o.correct}) == 1.0


def test_html_is_self_contained_with_mathml(quiz_dir):
    html = (quiz_dir / "students" / "s001.html").read_text()
    assert "<math" in html and "$" not in html.replace("&#36;", "")
    for remote in ("http://", "https://", "<script", "<link"):
        assert remote not in html.replace('xmlns="http://www.w3.org/1998/Math/MathML"', "")


def test_selected_items_in_the_given_order(tmp_path, roster, run_cli):
    path = roster(ROSTER)
    ids = "beta-diagnosis-mcq,clip-positive-advantage"
    result = run_cli("quiz", "generate", "--roster", str(path), "--seed", "1",
                     "--out", str(tmp_path / "q"), "--items", ids)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert read_quiz(tmp_path / "q").item_ids == tuple(ids.split(","))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("student_id,name\ns1,A\n", "roster.csv:1: missing column 'email'"),
        ("student_id,name,email\ns1,A,a@x.org\ns1,B,b@x.org\n",
         "roster.csv:3: duplicate student_id 's1' (first on line 2)"),
        ("student_id,name,email\n", "roster.csv: the roster has no students"),
        ("", "roster.csv:1: the roster is empty"),
        ("student_id,name,email\nbad id,A,a@x.org\n", "roster.csv:2: student_id 'bad id'"),
        ("student_id,name,email\ns1,A,not-an-email\n", "roster.csv:2: student 's1'"),
    ],
)  # fmt: skip
def test_bad_rosters_fail_in_one_line_and_write_nothing(tmp_path, roster, run_cli, text, message):
    path = roster(text)
    out = tmp_path / "q"
    result = run_cli("quiz", "generate", "--roster", str(path), "--seed", "1", "--out", str(out))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["roster.csv"]


def test_unknown_item_and_existing_output_are_refused(tmp_path, roster, run_cli, quiz_dir):
    path = roster(ROSTER)
    result = run_cli("quiz", "generate", "--roster", str(path), "--seed", "1",
                     "--out", str(tmp_path / "q"), "--items", "no-such-item")  # fmt: skip
    assert result.returncode == 2 and "no item 'no-such-item'" in result.stderr
    before = tree_digest(quiz_dir)
    result = run_cli("quiz", "generate", "--roster", str(path), "--seed", "1",
                     "--out", str(quiz_dir))  # fmt: skip
    assert result.returncode == 2 and "already exists" in result.stderr
    assert tree_digest(quiz_dir) == before  # nothing already stored is lost


def test_force_replaces_a_quiz_atomically(tmp_path, roster, run_cli):
    path = roster(ROSTER)
    out = tmp_path / "q"
    for seed in ("1", "2"):
        args = ["quiz", "generate", "--roster", str(path), "--seed", seed, "--out", str(out),
                "--items", "clip-positive-advantage", "--force"]  # fmt: skip
        assert run_cli(*args).returncode == 0
    assert read_quiz(out).seed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q", "roster.csv"]


def test_key_of_a_folder_that_is_not_a_quiz(tmp_path, run_cli):
    result = run_cli("quiz", "key", str(tmp_path))
    assert result.returncode == 2 and "not a quiz folder" in result.stderr


def test_roster_csv_in_private_matches_input(quiz_dir):
    rows = list(csv.DictReader((quiz_dir / "private" / "roster.csv").open()))
    assert [r["student_id"] for r in rows] == [f"s{i:03d}" for i in range(1, 9)]


def test_tokens_are_private_unique_and_reproducible(quiz_dir, course_secret_file):
    from questions.tokens import student_token

    rows = list(csv.DictReader((quiz_dir / "private" / "tokens.csv").open()))
    tokens = [r["token"] for r in rows]
    assert [r["student_id"] for r in rows] == [f"s{i:03d}" for i in range(1, 9)]
    assert len(set(tokens)) == len(tokens) and all(len(t) == 32 for t in tokens)
    assert oct((quiz_dir / "private" / "tokens.csv").stat().st_mode)[-3:] == "600"
    made = read_quiz(quiz_dir)
    secret = course_secret_file.read_bytes()
    assert tokens[0] == student_token(secret, made.quiz_id, "s001")
    assert tokens[0] != student_token(b"another instructor's secret!", made.quiz_id, "s001")
    for path in quiz_dir.rglob("*"):
        if path.is_file() and "private" not in path.parts:
            data = path.read_bytes()
            assert not any(t.encode() in data for t in tokens), path
