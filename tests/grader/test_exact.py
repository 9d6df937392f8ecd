"""Exact and tolerance grading over every numeric and multiple-choice item of the bank."""

from __future__ import annotations

import pytest

from grader.errors import GradingError
from grader.exact import grade, misconception_values
from grader.parse import FormatError, ParsedChoice, parse_choice, parse_number
from questions.generate import CompiledItem
from questions.models import MultipleChoiceItem, NumericItem

SEEDS = range(20)


def _variants(bank, kind):
    for item_id in bank.ids():
        spec = bank.get(item_id)
        if spec.kind == kind:
            compiled = CompiledItem.build(spec)
            for seed in SEEDS:
                yield spec, compiled.variant(f"s{seed:03d}", quiz_seed=seed)


def test_every_numeric_key_scores_full_marks_as_displayed(builtin_bank) -> None:
    n = 0
    for spec, v in _variants(builtin_bank, "numeric"):
        for typed in (v.answer.display(), f"= {v.answer.display()}", repr(v.answer.value)):
            result = grade(v, parse_number(typed), spec)
            assert result.score == 1.0 and result.verdict == "correct", (spec.id, typed)
            assert result.points == spec.points
        n += 1
    assert n >= 5 * len(SEEDS)


def test_every_misconception_gets_its_feedback_and_credit(builtin_bank) -> None:
    seen: set[tuple[str, str]] = set()
    for spec, v in _variants(builtin_bank, "numeric"):
        assert isinstance(spec, NumericItem)
        by_name = {m.name: m for m in spec.misconceptions}
        values = misconception_values(v, spec.misconceptions)
        for name, value in values.items():
            others = [n for n, x in values.items() if n != name and abs(x - value) < 1e-9]
            if others:
                continue  # two mistakes give the same number on this variant
            result = grade(v, parse_number(f"{value:.4f}"), spec)
            assert result.feedback == (by_name[name].feedback,), (spec.id, name, v.params)
            assert result.score == by_name[name].credit
            assert result.evidence == {"misconception": name}
            seen.add((spec.id, name))
    declared = {(s.id, m.name) for s, _ in _variants(builtin_bank, "numeric")
                for m in s.misconceptions}  # fmt: skip
    assert seen == declared


def test_a_wrong_number_scores_zero_and_the_sign_hint_is_generic(builtin_bank) -> None:
    for spec, v in _variants(builtin_bank, "numeric"):
        wrong = v.answer.value + 10 * v.answer.margin + 1.0
        assert grade(v, parse_number(repr(wrong)), spec).score == 0.0
        if v.answer.value != 0 and not misconception_values(v, spec.misconceptions):
            flipped = grade(v, parse_number(repr(-v.answer.value)), spec)
            assert "sign" in flipped.feedback[0]


def test_without_the_item_no_misconception_is_named(builtin_bank) -> None:
    spec = builtin_bank.get("clip-positive-advantage")
    v = CompiledItem.build(spec).variant("s001", quiz_seed=1)
    value = misconception_values(v, spec.misconceptions)["unclipped"]
    assert grade(v, parse_number(repr(value)), spec).evidence == {"misconception": "unclipped"}
    assert grade(v, parse_number(repr(value))).evidence == {}


def test_multiple_choice_over_the_bank(builtin_bank) -> None:
    for spec, v in _variants(builtin_bank, "multiple_choice"):
        assert isinstance(spec, MultipleChoiceItem)
        correct = [o.label for o in v.options if o.correct]
        right = grade(v, parse_choice(", ".join(correct), v.options, multiple=v.multiple), spec)
        assert right.score == 1.0 and right.verdict == "correct"
        by_text = grade(v, parse_choice(v.options[0].text, v.options, multiple=v.multiple))
        assert by_text.score == v.choice_score({v.options[0].label})
        for o in v.options:
            if not o.correct:
                wrong = grade(v, ParsedChoice((o.label,)), spec)
                assert wrong.score == 0.0
                assert any(o.feedback in line for line in wrong.feedback)


def test_right_minus_wrong_partial_credit(builtin_bank) -> None:
    spec = builtin_bank.get("ratio-token-facts")
    assert spec.multiple and spec.partial_credit == "right_minus_wrong"
    v = CompiledItem.build(spec).variant("s001", quiz_seed=3)
    correct = [o.label for o in v.options if o.correct]
    wrong = [o.label for o in v.options if not o.correct]
    c = len(correct)
    one_right = grade(v, ParsedChoice((correct[0],)), spec)
    assert one_right.score == pytest.approx(1 / c)
    assert one_right.verdict == ("correct" if c == 1 else "partially_correct")
    assert any("missed" in line for line in one_right.feedback) == (c > 1)
    everything = ParsedChoice(tuple(o.label for o in v.options))
    assert grade(v, everything, spec).score == pytest.approx(max(0.0, (c - len(wrong)) / c))


def test_format_errors_and_wrong_kinds_do_not_grade(builtin_bank) -> None:
    spec = builtin_bank.get("clip-positive-advantage")
    v = CompiledItem.build(spec).variant("s001", quiz_seed=1)
    with pytest.raises(GradingError, match="format error"):
        grade(v, FormatError("no number found"), spec)
    with pytest.raises(GradingError, match="cannot answer"):
        grade(v, ParsedChoice(("A",)), spec)
    other = builtin_bank.get("kl-penalty-token")
    with pytest.raises(GradingError, match="graded with item"):
        grade(v, parse_number("1"), other)
