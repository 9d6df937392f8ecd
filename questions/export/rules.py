"""Our grading rules in the terms an LMS stores them: fractions, tolerances, formulas.

Every exporter asks this module how to say "accept ``|x - v| <= max(atol, rtol*|v|)``" or
"right minus wrong" in its LMS, so the translation of each rule exists once, next to the
reason it is exact:

* **Tolerance.** Moodle's answers carry either a *relative* tolerance (``|x - v| <= t|v|``)
  or a *nominal* one (``|x - v| <= t``), and the first matching answer wins. Two answers
  with the same formula and full credit, one relative ``rtol`` and one nominal ``atol``,
  accept the union of the two intervals, which is exactly ``max(atol, rtol*|v|)``.
  A pre-drawn variant needs no such trick: its margin is one number.
* **Partial credit.** Moodle and Canvas score a multiple-answer question by summing the
  fractions of the chosen options and clamping to [0, 1]; +1/C per correct option and
  -1/C per wrong one is ``right_minus_wrong``.
* **Grades.** Moodle accepts only its own list of fractions; a credit not on it is
  rounded to the nearest, and the exporter says so.

>>> tolerance_answers(NumericAnswer(value=2.0, rtol=0.01, atol=0.005))
[('relative', '0.01'), ('nominal', '0.005')]
>>> [option_fraction(True, 3, "right_minus_wrong"), option_fraction(False, 3, "right_minus_wrong")]
['33.33333', '-33.33333']
"""

from __future__ import annotations

from questions.export.plan import num
from questions.models import NumericAnswer

__all__ = [
    "MOODLE_GRADES",
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
