"""Our grading rules in the terms an LMS stores them: fractions, tolerances, formulas.

Every exporter asks this module how to say "accept ``|x - v| <= max(atol, rtol*|v|)``" or
"right minus wrong" in its LMS, so the translation of each rule exists once, next to the
reason it is exact:

* **Tolerance.** Moodle's answers carry either a *relative* tolerance (``|x - v| <= t|v|``)
  or a *nominal* one (``|x - v| <= t``), and the first matching answer wins. Two answers
  with the same formula and full credit, one relative ``rtol`` and one nominal ``atol``,
  accept the union of the two intervals, which is exactly ``max(atol, rtol*|v|)``.
  A pre-drawn variant needs no such trick: its margin is one number.
* **Significant figures.** No LMS has a significant-figure tolerance (Moodle's
  "significant figures" answer format only *displays* the key), but our rule is a margin,
  half a unit in the n-th digit of the key, so a pre-drawn variant states it exactly. A
  formula question has one nominal tolerance for every variant: exact when the keys share
  a decade (or the relative term wins wherever they do not), else ``Unexpressible`` and
  the exporter falls back to pre-drawn variants. A key exactly halfway (``1.525`` to 3
  figures) sits on the border, which is included, so both roundings pass: Moodle (its
  ``eps``) and Canvas (decimal arithmetic) agree by themselves, and for a QTI 2.1 player
  comparing binary doubles ``equal_tolerance`` widens the margin by the few ulps that
  put the decimal border inside.
* **Partial credit.** Moodle and Canvas score a multiple-answer question by summing the
  fractions of the chosen options and clamping to [0, 1]; +1/C per correct option and
  -1/C per wrong one is ``right_minus_wrong``.
* **Grades.** Moodle accepts only its own list of fractions; a credit not on it is
  rounded to the nearest, and the exporter says so.

>>> tolerance_answers(NumericAnswer(value=2.0, rtol=0.01, atol=0.005))
[('relative', '0.01'), ('nominal', '0.005')]
>>> formula_tolerances([NumericAnswer(value=v, sigfigs=3) for v in (0.0123, 0.0456)])
[('nominal', '5e-05')]
>>> [option_fraction(True, 3, "right_minus_wrong"), option_fraction(False, 3, "right_minus_wrong")]
['33.33333', '-33.33333']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from questions.export.errors import Unexpressible
from questions.export.plan import num, short
from questions.tolerance import NumericAnswer

__all__ = [
    "MOODLE_GRADES",
    "equal_tolerance",
    "formula_tolerances",
    "moodle_grade",
    "option_fraction",
    "percent",
    "tolerance_answers",
]

MOODLE_GRADES = (
    100.0, 90.0, 83.33333, 80.0, 75.0, 70.0, 66.66667, 60.0, 50.0, 40.0, 33.33333, 30.0,
    25.0, 20.0, 16.66667, 14.28571, 12.5, 11.11111, 10.0, 5.0, 0.0,
)  # fmt: skip
"""The grades (percent) Moodle accepts for an answer; the negatives too."""


def percent(p: float) -> str:
    """A percentage with Moodle's 5 decimals, trailing zeros dropped.

    >>> percent(100.0), percent(100 / 3), percent(-12.5), percent(-0.0)
    ('100', '33.33333', '-12.5', '0')
    """
    text = f"{p:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def moodle_grade(p: float) -> tuple[str, bool]:
    """The Moodle grade nearest to ``p`` percent and whether it is ``p`` (to 1e-4)."""
    sign = -1.0 if p < 0 else 1.0
    nearest = min(MOODLE_GRADES, key=lambda g: abs(g - abs(p)))
    return percent(sign * nearest), abs(nearest - abs(p)) < 1e-4


def option_fraction(correct: bool, n_correct: int, rule: str) -> str:
    """An option's Moodle fraction (percent) under ``rule`` with ``n_correct`` correct.

    ``all_or_nothing`` on a multiple-answer item has no exact equivalent in Moodle's
    multichoice (it always adds fractions up); a wrong choice then costs everything.
    """
    if correct:
        return percent(100 / n_correct)
    if rule == "right_minus_wrong":
        return percent(-100 / n_correct)
    return "-100" if n_correct > 1 else "0"


def tolerance_answers(answer: NumericAnswer) -> list[tuple[str, str]]:
    """``(tolerancetype, tolerance)`` pairs, one full-credit answer each, whose union is
    our rule: relative ``rtol`` and nominal ``atol`` (either left out when 0)."""
    pairs = []
    if answer.rtol > 0:
        pairs.append(("relative", num(answer.rtol)))
    if answer.atol > 0 or not pairs:
        pairs.append(("nominal", num(answer.atol)))
    return pairs


def formula_tolerances(answers: Sequence[NumericAnswer]) -> list[tuple[str, str]]:
    """``(tolerancetype, tolerance)`` pairs for one formula answer that must match our
    margin on every variant; ``answers``: the tolerance model at each variant's value.

    Without ``sigfigs`` this is ``tolerance_answers`` (the same on every variant). With
    it, the nominal tolerance is the larger of ``atol`` and the significant-figure margin,
    which must then be one number: ``Unexpressible`` when the keys span decades where
    that margin decides.
    """
    first = answers[0]
    if first.sigfigs is None:
        return tolerance_answers(first)
    nominal = max(first.atol, *(a.sig_margin for a in answers))
    for a in answers:
        if max(a.rtol * abs(a.value), nominal) != a.margin:
            low = min(a.sig_margin for a in answers)
            raise Unexpressible(
                f"the {first.sigfigs}-significant-figure margin follows the key's decade "
                f"({num(low)} to {num(nominal)}) and a formula answer has one tolerance"
            )
    pairs = [("relative", num(first.rtol))] if first.rtol > 0 else []
    if nominal > 0 or not pairs:
        pairs.append(("nominal", num(nominal)))
    return pairs


def equal_tolerance(answer: NumericAnswer, written: str) -> str:
    """QTI 2.1's ``tolerance="t0 t1"`` (``y - t0 <= x <= y + t1``) around ``y`` as
    ``written`` in the file, for the tolerance model ``answer``.

    The margin to 12 digits, both sides. With ``sigfigs``, where a response on the exact
    border is the usual correctly rounded answer, each side is widened by the ulps a
    player computing in doubles needs to include the decimal border.

    >>> equal_tolerance(NumericAnswer(value=1.525, sigfigs=3), "1.525")
    '0.005 0.0050000000000001155'
    """
    margin = short(answer.margin)
    if answer.sigfigs is None:
        return f"{margin} {margin}"
    y = float(written)
    low = float(Decimal(written) - Decimal(margin))
    high = float(Decimal(written) + Decimal(margin))
    t0, t1 = max(float(margin), y - low), max(float(margin), high - y)
    while y - t0 > low:  # rarely taken: the subtractions above are exact near y
        t0 = math.nextafter(t0, math.inf)
    while y + t1 < high:
        t1 = math.nextafter(t1, math.inf)
    return f"{num(t0)} {num(t1)}"
