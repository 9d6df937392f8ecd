"""Significant figures in the one tolerance model: the rule, its display, its feedback,
its validation in a bank file, and the bank self-test's checks of it.

The rule: with ``sigfigs = n`` a response is accepted when it lies within half a unit of
the n-th significant digit of the key (``0.5 * 10**(floor(log10|key|) - n + 1)``), the
larger of that, ``atol`` and ``rtol * |key|`` winning.
"""

from __future__ import annotations

import json
import math
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from grader.exact import grade_numeric
from questions.bank import load_bank, scan_bank
from questions.models import MAX_SIGFIGS, Misconception, NumericAnswer, NumericSpec
from questions.selftest import says_sigfigs, selftest_item
from questions.variants import Variant


def sig_margin(value: float, n: int) -> Fraction:
    """Half a unit in the n-th significant digit of the key's decimal text, exactly."""
    exact, e = Fraction(Decimal(repr(abs(value)))), 0
    while exact >= 10 ** (e + 1):
        e += 1
    while exact < Fraction(10) ** e:
        e -= 1
    return Fraction(1, 2) * Fraction(10) ** (e - n + 1)


# ---------------------------------------------------------------- the rule, by example
def test_three_figures_of_a_small_key_have_exact_borders():
    key = NumericAnswer(value=0.012345, sigfigs=3)
    assert key.margin == 5e-05 and key.sig_margin == 5e-05
    assert key.display() == "0.0123"
    for x in (0.0123, 0.01234, 0.012345, 0.01235, 0.012295, 0.012395):
        assert key.accepts(x), x
    for x in (0.0124, 0.012, 0.01229, 0.012294, 0.012396, -0.0123, 0.12345):
        assert not key.accepts(x), x


def test_a_key_halfway_accepts_both_roundings_and_shows_half_up():
    key = NumericAnswer(value=1.525, sigfigs=3)
    assert key.display() == "1.53"
    assert key.accepts(1.52) and key.accepts(1.53)
    assert not key.accepts(1.5199) and not key.accepts(1.5301)
    negative = NumericAnswer(value=-1.525, sigfigs=3)
    assert negative.display() == "-1.53" and negative.accepts(-1.52) and negative.accepts(-1.53)


def test_the_decade_is_the_keys_not_the_rounded_keys():
    # 0.09996 to 3 figures shows as 0.100, but its 3rd figure is in the 1e-4 place
    key = NumericAnswer(value=0.09996, sigfigs=3)
    assert key.margin == 5e-05 and key.display() == "0.100" and key.accepts(0.1)
    assert not key.accepts(0.1001)
    big = NumericAnswer(value=9.9996, sigfigs=3)
    assert big.display() == "10.0" and big.margin == 0.005 and big.accepts(10.0)
    assert NumericAnswer(value=1000.0, sigfigs=2).margin == 50.0
    assert NumericAnswer(value=999.99, sigfigs=2).margin == 5.0


def test_displays_keep_trailing_zeros_and_stay_positional():
    shown = {v: NumericAnswer(value=v, sigfigs=3).display()
             for v in (2.5, 2.0, -1234.5, 123456.0, 1.2345e-8, 0.1)}  # fmt: skip
    assert shown == {2.5: "2.50", 2.0: "2.00", -1234.5: "-1230", 123456.0: "123000",
                     1.2345e-8: "0.0000000123", 0.1: "0.100"}  # fmt: skip
    assert NumericAnswer(value=0.5, sigfigs=1).display() == "0.5"
    assert NumericAnswer(value=0.95, sigfigs=1).display() == "1"


def test_the_largest_term_wins():
    assert NumericAnswer(value=4.0, sigfigs=3, rtol=0.01).margin == 0.04  # relative
    assert NumericAnswer(value=4.0, sigfigs=3, atol=0.1).margin == 0.1  # absolute
    assert NumericAnswer(value=4.0, sigfigs=3, rtol=0.001, atol=0.001).margin == 0.005


def test_a_key_of_zero_has_no_figures_so_atol_decides():
    key = NumericAnswer(value=0.0, sigfigs=3, atol=0.001, decimals=3)
    assert key.sig_margin == 0.0 and key.margin == 0.001 and key.display() == "0.000"
    assert key.accepts(0.001) and not key.accepts(0.0011)
    exact = NumericAnswer(value=0.0, sigfigs=3)
    assert exact.margin == 0.0 and exact.accepts(0.0) and not exact.accepts(1e-300)


def test_a_misconception_gets_the_same_rule_at_its_own_value():
    key = NumericAnswer(value=0.5, sigfigs=2)
    assert key.at(12.3).margin == 0.5 and key.at(12.3).sigfigs == 2
    assert key.at(0.0123).margin == 0.0005 and key.at(-0.0123).margin == 0.0005


# ---------------------------------------------------------------- the rule, as properties
finite = st.floats(min_value=1e-8, max_value=1e8, allow_nan=False).flatmap(
    lambda m: st.sampled_from((m, -m))
)
figures = st.integers(min_value=1, max_value=MAX_SIGFIGS)


@given(value=finite, n=figures, k=st.floats(min_value=-3, max_value=3))
@example(value=0.012345, n=3, k=1.0)
@example(value=1.525, n=3, k=-1.0)
def test_accepts_exactly_within_half_a_unit_of_the_last_figure(value, n, k):
    key = NumericAnswer(value=value, sigfigs=n)
    margin = sig_margin(value, n)
    assert key.margin == float(margin)
    x = value + k * float(margin)
    distance = abs(Fraction(x) - Fraction(value))
    noise = Fraction(1, 10**13) * (abs(Fraction(value)) + margin)  # float noise allowed
    if distance <= margin:
        assert key.accepts(x)
    elif distance > margin + noise:
        assert not key.accepts(x)


@given(value=finite, n=figures)
def test_the_displayed_key_has_n_figures_and_is_accepted(value, n):
    key = NumericAnswer(value=value, sigfigs=n)
    shown = key.display()
    if "." in shown:  # trailing zeros kept: 2.50, 0.100
        assert len(Decimal(shown).as_tuple().digits) == n
    assert len(Decimal(shown).normalize().as_tuple().digits) <= n
    assert abs(Fraction(Decimal(shown)) - Fraction(Decimal(repr(value)))) <= sig_margin(value, n)
    assert key.accepts(float(shown))


@given(value=finite, n=st.integers(min_value=1, max_value=MAX_SIGFIGS - 1),
       more=st.integers(min_value=1, max_value=4))  # fmt: skip
def test_more_correct_figures_are_always_accepted(value, n, more):
    finer = NumericAnswer(value=value, sigfigs=min(MAX_SIGFIGS, n + more)).display()
    assert NumericAnswer(value=value, sigfigs=n).accepts(float(finer))


@given(value=finite, n=figures, x=st.floats(allow_nan=True, allow_infinity=True))
def test_never_looser_than_the_margin_and_never_accepts_non_finite(value, n, x):
    key = NumericAnswer(value=value, sigfigs=n)
    if key.accepts(x):
        assert math.isfinite(x)
        margin = Fraction(key.margin)
        noise = Fraction(1, 10**13) * (abs(Fraction(value)) + margin)
        assert abs(Fraction(x) - Fraction(value)) <= margin + noise


# ---------------------------------------------------------------- grader feedback
def _variant(answer: NumericAnswer, params: dict[str, float] | None = None) -> Variant:
    return Variant(student_id="s1", item_id="demo", kind="numeric", title="t", points=2,
                   seed=0, prompt="p", params=params or {}, answer=answer)  # fmt: skip


def test_a_close_answer_is_told_about_significant_figures():
    v = _variant(NumericAnswer(value=0.012345, sigfigs=3))
    assert grade_numeric(v, 0.0123).score == 1.0
    close = grade_numeric(v, 0.0124)
    assert close.score == 0.0
    assert close.feedback[0].startswith("Close, but not to 3 significant figures (±5e-05)")
    two_figures = grade_numeric(v, 0.012).feedback[0]
    assert "3 significant figures" in two_figures and two_figures.startswith("Close")
    far = grade_numeric(v, 0.05).feedback[0]
    assert far == "Not within the tolerance (±5e-05, 3 significant figures) of the correct value."


def test_when_another_term_decides_the_feedback_does_not_speak_of_figures():
    relative = _variant(NumericAnswer(value=2.4, rtol=0.1, sigfigs=3))
    assert relative.answer.margin == pytest.approx(0.24)
    hint = grade_numeric(relative, 2.7).feedback[0]
    assert hint == "Not within the tolerance (±0.24) of the correct value."


def test_a_misconception_is_matched_to_the_same_figures_at_its_value():
    v = _variant(NumericAnswer(value=0.02, sigfigs=3), {"a": 0.5, "b": 0.04})
    mistake = Misconception(name="product", expr="a * b + 1", feedback="a*b + 1", credit=0.5)
    hit = grade_numeric(v, 1.024, [mistake])  # 1.02 to 3 figures: margin 0.005
    assert hit.score == 0.5 and hit.evidence == {"misconception": "product"}
    assert grade_numeric(v, 1.026, [mistake]).evidence == {}


# ---------------------------------------------------------------- serialisation
def test_unset_sigfigs_leave_dumps_and_content_hashes_as_they_were():
    assert "sigfigs" not in NumericSpec(expr="x").model_dump_json()
    assert "sigfigs" not in NumericAnswer(value=1.0).model_dump_json()
    spec = NumericSpec(expr="x", sigfigs=3)
    assert json.loads(spec.model_dump_json()) == {"expr": "x", "rtol": 0.0, "atol": 0.0,
                                                   "sigfigs": 3}  # fmt: skip
    assert NumericSpec.model_validate_json(spec.model_dump_json()) == spec
    answer = NumericAnswer(value=0.5, sigfigs=2)
    assert NumericAnswer.model_validate_json(answer.model_dump_json()) == answer


def test_sigfigs_default_rtol_to_zero_and_replace_decimals():
    assert NumericSpec(expr="x").rtol == 0.01
    assert NumericSpec(expr="x", sigfigs=3).rtol == 0.0
    assert NumericSpec(expr="x", sigfigs=3, rtol=0.02).rtol == 0.02
    with pytest.raises(ValidationError, match="give decimals or sigfigs, not both"):
        NumericSpec(expr="x", sigfigs=3, decimals=2)
    for bad in (0, MAX_SIGFIGS + 1, 2.5, True, "3"):
        with pytest.raises(ValidationError):
            NumericAnswer(value=1.0, sigfigs=bad)


# ---------------------------------------------------------------- bank files
ITEM = """\
- id: sf-item
  kind: numeric
  title: Three figures
  topic: kl-penalty
  bloom: apply
  prompt: "Compute {{ score }} - {{ kl_coef }} * 7.3 to 3 significant figures."
  params:
    score: {low: 2.0, high: 6.0, decimals: 2}
    kl_coef: {choices: [0.05, 0.1], decimals: 2}
  answer:
    expr: "score - kl_coef * 7.3"
    sigfigs: 3
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bank.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return [str(p) for p in scan_bank([path])[1]]


def test_a_sigfigs_item_loads_and_passes_its_self_test(tmp_path):
    assert _problems(tmp_path, ITEM) == []
    bank = load_bank([tmp_path / "bank.yaml"])
    item = bank.items["sf-item"]
    assert item.spec.answer.sigfigs == 3 and item.spec.answer.rtol == 0.0
    assert [str(p) for p in selftest_item(item, seeds=30)] == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "answer.sigfigs: Input should be greater than or equal to 1"),
        ("11", f"answer.sigfigs: Input should be less than or equal to {MAX_SIGFIGS}"),
        ("2.5", "answer.sigfigs: Input should be a valid integer"),
        ("three", "answer.sigfigs: Input should be a valid integer"),
        ("true", "answer.sigfigs: Input should be a valid integer"),
    ],
)
def test_a_bad_sigfigs_is_one_line_naming_file_line_and_field(tmp_path, value, message):
    problems = _problems(tmp_path, ITEM.replace("sigfigs: 3", f"sigfigs: {value}"))
    path = tmp_path / "bank.yaml"
    assert len(problems) == 1 and "\n" not in problems[0]
    assert problems[0].startswith(f"{path}:12: item 'sf-item': {message}"), problems[0]


def test_sigfigs_with_decimals_is_refused_at_the_answer(tmp_path):
    both = ITEM.replace("    sigfigs: 3\n", "    sigfigs: 3\n    decimals: 2\n")
    assert _problems(tmp_path, both) == [
        f"{tmp_path / 'bank.yaml'}:13: item 'sf-item': answer.decimals: give decimals "
        "or sigfigs, not both (with sigfigs the key is shown to that many significant figures)"
    ]


def test_the_self_test_wants_the_prompt_to_say_the_figures(tmp_path):
    _problems(tmp_path, ITEM.replace(" to 3 significant figures", ""))
    item = load_bank([tmp_path / "bank.yaml"]).items["sf-item"]
    (problem,) = selftest_item(item, seeds=10)
    assert "answer.sigfigs is 3 but the prompt never says '3 significant figures'" in str(problem)
    assert str(problem).startswith(f"{tmp_path / 'bank.yaml'}:1: ")


def test_the_self_test_refuses_sigfigs_that_never_decide(tmp_path):
    _problems(tmp_path, ITEM.replace("    sigfigs: 3\n", "    sigfigs: 3\n    rtol: 0.05\n"))
    item = load_bank([tmp_path / "bank.yaml"]).items["sf-item"]
    (problem,) = selftest_item(item, seeds=10)
    assert "answer.sigfigs (3) never sets the margin" in problem.message


def test_prompts_may_say_the_figures_in_words():
    assert says_sigfigs("Round to three significant figures.", 3)
    assert says_sigfigs("a 2-significant-figure answer", 2)
    assert not says_sigfigs("Give 3 decimals.", 3)
    assert not says_sigfigs("to 4 significant figures", 3)


def test_the_builtin_bank_item_says_its_figures_everywhere_students_read_it(builtin_bank):
    from questions.generate import CompiledItem

    specs = [b.spec for b in builtin_bank.items.values()
             if b.spec.kind == "numeric" and b.spec.answer.sigfigs is not None]  # fmt: skip
    assert specs, "the built-in bank has an item graded to significant figures"
    for spec in specs:
        compiled = CompiledItem.build(spec)
        v = compiled.variant("s001", quiz_seed=1)
        html, _ = compiled.html(v)
        n = spec.answer.sigfigs
        assert says_sigfigs(v.prompt, n) and says_sigfigs(v.student_item().prompt, n)
        assert f"{n} significant figures" in html
