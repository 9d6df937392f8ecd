"""The built-in bank is complete and sound; a malformed bank is reported as file:line."""

from __future__ import annotations

import collections
import textwrap
from pathlib import Path

import pytest

from questions.bank import load_bank, scan_bank
from questions.errors import BankError
from questions.selftest import selftest_item

GOOD = """\
- id: tiny-numeric
  kind: numeric
  title: Clipped term
  topic: clipping
  bloom: apply
  prompt: "r = {{ ratio }}, A = {{ advantage }}, eps = 0.2. Compute the clipped term."
  params:
    ratio: {low: 1.3, high: 1.9, decimals: 2}
    advantage: {low: 0.5, high: 3.0, decimals: 2}
  answer: {expr: "clipped_surrogate(ratio, advantage, 0.2)", rtol: 0.01, decimals: 3}
  misconceptions:
    - {name: unclipped, expr: "ratio * advantage", feedback: "That is r*A."}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def only_problem(folder: Path) -> str:
    _, problems = scan_bank([folder])
    assert len(problems) >= 1
    return str(problems[0])


# ---------------------------------------------------------------- the built-in bank
def test_builtin_bank_has_enough_items_of_every_kind(builtin_bank):
    kinds = collections.Counter(b.spec.kind for b in builtin_bank.items.values())
    assert len(builtin_bank) >= 30
    assert all(kinds[k] >= 8 for k in ("essay", "multiple_choice", "numeric")), kinds


def test_the_three_required_items_say_what_the_course_needs(builtin_bank):
    essay = builtin_bank.get("beta-diagnosis-essay")
    assert essay.kind == "essay"
    assert essay.rubric.stance.expected == "too-low"
    assert {p.name for p in essay.rubric.stance.positions} >= {"too-low", "too-high"}
    assert len(essay.references) >= 3 and len(essay.rubric.concepts) >= 3

    mcq = builtin_bank.get("beta-diagnosis-mcq")
    correct = [o for o in mcq.options if o.correct]
    assert mcq.kind == "multiple_choice" and not mcq.multiple and len(correct) == 1
    assert "low" in correct[0].text.lower()
    assert len(mcq.options) >= 4 and all(o.feedback for o in mcq.options)

    clip = builtin_bank.get("clip-positive-advantage")
    assert clip.kind == "numeric" and "clipped_surrogate" in clip.answer.expr


def test_bank_covers_the_course_topics(builtin_bank):
    text = " ".join(
        (b.spec.prompt + " " + getattr(b.spec, "answer", None).expr
         if b.spec.kind == "numeric" else b.spec.prompt).lower()
        for b in builtin_bank.items.values()
    )  # fmt: skip
    for needle in ("prob_ratio", "kl_penalty", "adaptive_kl_update", "reference", "reward hack"):
        assert needle in text, needle


@pytest.mark.parametrize("item_id", load_bank().ids())  # discovered, never hand-picked
def test_every_builtin_item_passes_its_self_test(builtin_bank, item_id):
    assert [str(p) for p in selftest_item(builtin_bank.items[item_id], seeds=50)] == []


# ---------------------------------------------------------------- malformed banks
def test_a_good_bank_loads(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    assert load_bank([tmp_path]).ids() == ["tiny-numeric"]


def test_unknown_field_names_file_and_line(tmp_path):
    path = write(
        tmp_path, "a.yaml", GOOD.replace("  bloom: apply\n", "  bloom: apply\n  colour: red\n")
    )
    assert only_problem(tmp_path) == f"{path}:6: item 'tiny-numeric': unknown field 'colour'"


def test_missing_field_and_bad_value(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD.replace("  title: Clipped term\n", "").replace(
        "rtol: 0.01", "rtol: 5"))  # fmt: skip
    _, problems = scan_bank([tmp_path])
    messages = sorted(str(p) for p in problems)
    assert f"{path}:1: item 'tiny-numeric': missing field 'title'" in messages
    assert any(m.startswith(f"{path}:9: ") and "answer.rtol" in m for m in messages)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD + "  prompt: [unclosed\n")
    assert only_problem(tmp_path).startswith(f"{path}:")
    assert "invalid YAML" in only_problem(tmp_path)


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD)
    assert only_problem(tmp_path) == (
        f"{second}:1: duplicate item id 'tiny-numeric' (first at {tmp_path / 'a.yaml'}:1)"
    )


def test_duplicate_key_is_not_silently_overwritten(tmp_path):
    path = write(
        tmp_path, "a.yaml", GOOD.replace("  topic: clipping\n", "  topic: clipping\n  topic: x\n")
    )
    assert only_problem(tmp_path) == f"{path}:5: duplicate key 'topic'"


def test_bad_expression_names_its_field(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD.replace("ratio * advantage", "ratio * advantag"))
    assert only_problem(tmp_path) == (
        f"{path}:12: item 'tiny-numeric': misconceptions.0.expr: unknown name 'advantag' "
        "in 'ratio * advantag'"
    )


def test_a_wrong_kind_and_a_bad_mc_item(tmp_path):
    write(tmp_path, "a.yaml", GOOD.replace("kind: numeric", "kind: essayy"))
    assert "kind must be one of" in only_problem(tmp_path)
    write(tmp_path, "a.yaml", """\
        id: two-correct
        kind: multiple_choice
        title: T
        topic: clipping
        bloom: remember
        prompt: P
        options:
          - {text: a, correct: true, feedback: f}
          - {text: b, correct: true, feedback: f}
        """)  # fmt: skip
    assert "exactly 1 correct option, has 2" in only_problem(tmp_path)


def test_selftest_catches_a_misconception_equal_to_the_key(tmp_path):
    # without a constraint, a ratio inside the clip range makes r*A equal the key
    write(tmp_path, "a.yaml", GOOD.replace("low: 1.3", "low: 0.9"))
    bank = load_bank([tmp_path])
    problems = selftest_item(bank.items["tiny-numeric"])
    assert len(problems) == 1 and "misconception 'unclipped'" in problems[0].message


def test_selftest_catches_an_undefined_template_name(tmp_path):
    write(tmp_path, "a.yaml", GOOD.replace("{{ advantage }}", "{{ advantge }}"))
    problems = selftest_item(load_bank([tmp_path]).items["tiny-numeric"])
    assert "does not render" in problems[0].message and "advantge" in problems[0].message


def test_missing_bank_folder(tmp_path):
    with pytest.raises(BankError, match="no such bank"):
        load_bank([tmp_path / "nope"])


def test_validate_cli_prints_file_line_and_exits_2(tmp_path, run_cli):
    path = write(
        tmp_path, "a.yaml", GOOD.replace("  bloom: apply\n", "  bloom: apply\n  colour: red\n")
    )
    result = run_cli("bank", "validate", str(tmp_path))
    assert result.returncode == 2
    assert f"{path}:6: item 'tiny-numeric': unknown field 'colour'" in result.stderr
    ok = write(tmp_path / "ok", "a.yaml", GOOD)
    result = run_cli("bank", "validate", str(ok.parent), "--seeds", "20")
    assert result.returncode == 0 and "1 items checked with 20 seeds each: ok" in result.stdout


def test_bank_list_combines_builtin_and_instructor_banks(tmp_path, run_cli, builtin_bank):
    write(tmp_path, "a.yaml", GOOD)
    import json

    result = run_cli("bank", "list", "--bank", "builtin", "--bank", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == len(builtin_bank) + 1
    assert rows[-1] == {"id": "tiny-numeric", "kind": "numeric", "topic": "clipping",
                        "bloom": "apply", "points": 1.0, "title": "Clipped term"}  # fmt: skip


def test_the_readme_example_item_is_valid(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    write(tmp_path, "mine.yaml", block)
    bank = load_bank([tmp_path])
    assert [str(p) for p in selftest_item(bank.items[bank.ids()[0]])] == []


ESSAY = """\
- id: tiny-essay
  kind: essay
  title: Beta
  topic: diagnosis
  bloom: evaluate
  prompt: Is beta too high or too low?
  references: [Beta is too low.]
  rubric:
    stance:
      question: Is beta too high or too low?
      positions:
        - {name: too-low, phrases: [too low]}
        - {name: too-high, phrases: [too high]}
      expected: too-low
      about: [beta]
      not_about: [learning rate]
    concepts:
      - name: anchor
        description: The penalty keeps the policy near the reference.
        examples: [The penalty keeps the policy near the reference.]
"""


def test_a_stance_says_what_it_is_about_and_not_about(tmp_path):
    write(tmp_path, "a.yaml", ESSAY)
    stance = load_bank([tmp_path]).get("tiny-essay").rubric.stance
    assert (stance.about, stance.not_about) == (("beta",), ("learning rate",))
    path = write(tmp_path, "a.yaml", ESSAY.replace("      about: [beta]\n", ""))
    assert only_problem(tmp_path) == (
        f"{path}:10: item 'tiny-essay': rubric.stance: not_about needs about: the words that "
        "name the stance's subject"
    )
    write(tmp_path, "a.yaml", ESSAY.replace("about: [beta]", "about: [beta, Learning rate]"))
    assert "both about and not_about: learning rate" in only_problem(tmp_path)
