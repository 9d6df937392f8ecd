"""The bank self-test: every item tests itself over many seeds (rule 5 of DESIGN.md).

For each seed the item must draw parameters that satisfy its constraints, render under
``StrictUndefined`` (Markdown and HTML), and its key must score full marks while a wrong
answer does not. Numeric items also check that the displayed (rounded) key is accepted
and that every declared misconception is told apart from the key; an item graded to
significant figures must say so in its prompt ("to 3 significant figures", the words
every student view and LMS export shows) and that rule must set the margin on some
seed. Essay items check that each reference answer takes the rubric's expected stance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import jinja2

from questions.bank import Bank, BankItem
from questions.errors import AssessmentError
from questions.expr import Expression
from questions.generate import CompiledItem
from questions.models import EssayItem, NumericItem
from questions.variants import Variant

__all__ = ["Problem", "says_sigfigs", "selftest_bank", "selftest_item"]

_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten")  # fmt: skip


def says_sigfigs(prompt: str, n: int) -> bool:
    """Whether a prompt asks for ``n`` significant figures (or digits), in digits or words.

    >>> says_sigfigs("Give it to 3 significant figures.", 3)
    True
    >>> says_sigfigs("Round to THREE significant digits.", 3), says_sigfigs("3 s.f.", 3)
    (True, False)
    """
    number = f"(?:{n}|{_NUMBER_WORDS[n - 1]})" if n <= len(_NUMBER_WORDS) else str(n)
    pattern = rf"\b{number}[\s-]+significant[\s-]+(?:figures?|digits?)\b"
    return re.search(pattern, prompt, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Problem:
    """One problem of one item, located in its bank file."""

    item_id: str
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: item {self.item_id!r}: {self.message}"


def selftest_bank(bank: Bank, seeds: int = 50) -> list[Problem]:
    """Every problem of every item of the bank (empty when the bank is sound)."""
    return [p for item in bank.items.values() for p in selftest_item(item, seeds)]


def selftest_item(item: BankItem, seeds: int = 50) -> list[Problem]:
    """The problems of one item, at most one per kind of check."""
    spec = item.spec
    found: dict[str, str] = {}

    def problem(key: str, message: str) -> None:
        found.setdefault(key, message)

    try:
        compiled = CompiledItem.build(spec)
    except AssessmentError as exc:
        return [Problem(spec.id, str(item.path), item.line, exc.message)]
    if isinstance(spec, EssayItem):
        _check_essay(spec, problem)
    sigfigs = spec.answer.sigfigs if isinstance(spec, NumericItem) else None
    if sigfigs is not None and not says_sigfigs(spec.prompt, sigfigs):
        problem("sigfigs-prompt", f"answer.sigfigs is {sigfigs} but the prompt never says "
                f"'{sigfigs} significant figures': tell students the precision graded")  # fmt: skip
    decided = False
    for seed in range(seeds):
        try:
            variant = compiled.variant(f"selftest-{seed}", quiz_seed=seed)
            compiled.html(variant)
        except jinja2.UndefinedError as exc:
            problem("render", f"does not render (seed {seed}): {exc.message}")
            break
        except AssessmentError as exc:
            problem("draw", f"seed {seed}: {exc.message}")
            break
        if variant.kind == "numeric":
            assert isinstance(spec, NumericItem) and variant.answer is not None
            _check_numeric(spec, variant, seed, problem)
            key = variant.answer
            decided = decided or 0 < key.sig_margin == key.margin
        elif variant.kind == "multiple_choice":
            _check_choice(variant, seed, problem)
    if sigfigs is not None and not decided and "draw" not in found and "render" not in found:
        problem("sigfigs-margin", f"answer.sigfigs ({sigfigs}) never sets the margin: rtol "
                "or atol is always larger, so drop one or the other")  # fmt: skip
    return [Problem(spec.id, str(item.path), item.line, m) for m in found.values()]


def _check_numeric(spec: NumericItem, v: Variant, seed: int, problem) -> None:
    key = v.answer
    assert key is not None
    if not math.isfinite(key.value):
        problem("finite", f"the key is not a finite number at seed {seed}")
        return
    if not key.accepts(key.value):
        problem("key", f"the key does not score full marks at seed {seed}")
    if not key.accepts(float(key.display())):
        shown, fix = f"with {key.decimals} decimals", ": raise answer.decimals or the tolerance"
        if key.sigfigs is not None:  # within the margin by construction: a bug if not
            shown, fix = f"to {key.sigfigs} significant figures", ""
        problem(
            "display",
            f"the key shown {shown} ({key.display()}) is outside the tolerance at seed "
            f"{seed}{fix}",
        )
    wrong = key.value + max(10 * key.margin, 1.0)
    if key.accepts(wrong):
        problem("wrong", f"a wrong answer ({wrong}) scores full marks at seed {seed}")
    for m in spec.misconceptions:
        value = float(Expression.parse(m.expr).evaluate(v.params))
        if key.accepts(value):
            problem(
                f"mis-{m.name}",
                f"misconception {m.name!r} gives the key's value ({value:g}) at seed {seed} "
                f"({_params(v)}): add a constraint that tells them apart",
            )


def _check_choice(v: Variant, seed: int, problem) -> None:
    correct = {o.label for o in v.options if o.correct}
    if v.choice_score(correct) != 1.0:
        problem("key", f"the correct options do not score full marks at seed {seed}")
    wrong = {o.label for o in v.options if not o.correct} or set()
    if wrong and v.choice_score(wrong) != 0.0:
        problem("wrong", f"choosing only wrong options scores at seed {seed}")


def _check_essay(spec: EssayItem, problem) -> None:
    stance = spec.rubric.stance
    if stance is None:
        return
    expected = next(p for p in stance.positions if p.name == stance.expected)
    for i, ref in enumerate(spec.references):
        text = ref.lower()
        if not any(phrase.lower() in text for phrase in expected.phrases):
            problem(
                f"ref-{i}",
                f"references[{i}] does not state the expected stance {stance.expected!r} "
                f"with any of its phrases",
            )


def _params(v: Variant) -> str:
    return ", ".join(f"{k}={s}" for k, s in v.display.items())
