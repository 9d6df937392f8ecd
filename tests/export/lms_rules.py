"""The LMSs' own grading rules, written from their documentation and source, for tests.

Each function decides what the LMS would do with a response, given only what an export
file says; the tests compare these verdicts with ``NumericAnswer.accepts`` and
``Variant.choice_score``. Nothing here imports ``questions.export``.

* Moodle ``qtype_numerical_answer::get_tolerance_interval`` (numerical and calculated):
  relative ``[v - |v|(t + eps), v + |v|(t + eps)]``, nominal
  ``[v - t - eps*max(|t|, |v|, eps), ...]``, with ``eps = 10**-precision`` (PHP's
  ``precision`` is 14); the first answer whose interval holds the response wins.
* Moodle multichoice: one answer: the chosen answer's fraction; several: the sum of the
  chosen fractions, clamped to [0, 1].
* Canvas ``calculated_question``: the variable set's stored answer, ``answer_tolerance``
  absolute or, ending in ``%``, a percentage of |answer|; bounds included (BigDecimal).
* Canvas ``numerical_question``: the ``vargte``/``varlte`` range, bounds included.
* Canvas ``multiple_answers_question``: (correct chosen - wrong chosen) / correct, >= 0.
* QTI 2.1 ``equal`` with ``toleranceMode="absolute"``: ``y - t0 <= x <= y + t1``;
  ``mapResponse``: sum of the mapped values of the chosen identifiers, clamped to the
  mapping's bounds.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

MOODLE_EPS = 10.0**-14
MOODLE_FUNCTIONS = {
    "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos",
    "cosh", "deg2rad", "exp", "expm1", "floor", "fmod", "log10", "log1p", "log", "max",
    "min", "pi", "pow", "rad2deg", "sin", "sinh", "sqrt", "tan", "tanh",
}  # fmt: skip
"""Functions ``qtype_calculated_find_formula_errors`` allows (the numeric ones)."""


def moodle_interval(answer: float, tolerance: float, kind: str) -> tuple[float, float]:
    """``qtype_numerical_answer::get_tolerance_interval`` for relative (1) and nominal (2)."""
    if kind in ("1", "relative"):
        spread = abs(answer) * (abs(tolerance) + MOODLE_EPS)
        return answer - spread, answer + spread
    if kind in ("2", "nominal"):
        spread = tolerance + MOODLE_EPS * max(abs(tolerance), abs(answer), MOODLE_EPS)
        return answer - spread, answer + spread
    raise AssertionError(f"tolerance type {kind!r} is not used by the exports")


def moodle_accepts(answers: list[tuple[float, float, float, str]], x: float) -> float | None:
    """The fraction of the first answer ``(fraction, value, tolerance, kind)`` holding x."""
    for fraction, value, tolerance, kind in answers:
        low, high = moodle_interval(value, tolerance, kind)
        if low <= x <= high:
            return fraction
    return None


def moodle_choice_score(fractions: dict[str, float], chosen: set[str], single: bool) -> float:
    """Moodle multichoice: fractions in percent -> score in [0, 1]."""
    if single:
        assert len(chosen) == 1
        return max(0.0, fractions[next(iter(chosen))] / 100)
    return min(1.0, max(0.0, sum(fractions[c] for c in chosen) / 100))


def moodle_formula_errors(formula: str) -> str | None:
    """A strict reading of ``qtype_calculated_find_formula_errors``: only ``{name}``
    wildcards, numbers, ``+ - * / ( ) ,`` and the allowed functions."""
    text = re.sub(r"\{[A-Za-z][^>} <{\"']*\}", "1.0", formula).replace(" ", "").lower()
    for name in re.findall(r"[a-z_][a-z0-9_]*(?=\()", text):
        if name not in MOODLE_FUNCTIONS:
            return f"function {name} is not allowed"
    rest = re.sub(r"[a-z_][a-z0-9_]*\(", "(", text)
    rest = re.sub(r"\d+\.?\d*(e[-+]?\d+)?", "1", rest)
    if re.search(r"[^-+*/(),1]", rest):
        return f"illegal characters in {formula!r}"
    if rest.count("(") != rest.count(")"):
        return "unbalanced parentheses"
    return None


def moodle_evaluate(formula: str, values: dict[str, str]) -> float:
    """Evaluate a Moodle formula as PHP would, wildcards replaced by their values."""
    assert moodle_formula_errors(formula) is None, moodle_formula_errors(formula)
    text = re.sub(r"\{([A-Za-z][^>} <{\"']*)\}", lambda m: f"({values[m.group(1)]})", formula)
    scope = {"abs": abs, "min": min, "max": max, "exp": math.exp, "log": math.log,
             "sqrt": math.sqrt, "pow": math.pow}  # fmt: skip
    return float(eval(text, {"__builtins__": {}}, scope))  # noqa: S307 (checked above)


def canvas_evaluate(formula: str, values: dict[str, str]) -> float:
    """Evaluate a Canvas formula (``^`` power, ``ln`` natural log, bare variable names)."""
    scope = {"abs": abs, "min": min, "max": max, "exp": math.exp, "ln": math.log,
             "sqrt": math.sqrt}  # fmt: skip
    scope |= {name: float(v) for name, v in values.items()}
    assert re.fullmatch(r"[A-Za-z0-9_.+\-*/^(), ]+", formula), formula
    return float(eval(formula.replace("^", "**"), {"__builtins__": {}}, scope))  # noqa: S307


def canvas_calculated_accepts(answer: str, tolerance: str, x: float) -> bool:
    """Canvas calculated question: stored answer, absolute or percent tolerance."""
    value, response = Decimal(answer), Decimal(repr(x))
    if tolerance.endswith("%"):
        margin = abs(value) * Decimal(tolerance[:-1]) / 100
    else:
        margin = Decimal(tolerance)
    return value - margin <= response <= value + margin


def canvas_range_accepts(low: str, high: str, x: float) -> bool:
    """Canvas numerical question with a range answer (bounds included)."""
    return Decimal(low) <= Decimal(repr(x)) <= Decimal(high)


def canvas_multiple_answers(correct: set[str], options: set[str], chosen: set[str]) -> float:
    """Canvas multiple answers: right minus wrong over the number of correct, >= 0."""
    right, wrong = len(chosen & correct), len(chosen & (options - correct))
    return max(0.0, (right - wrong) / len(correct))


def qti_equal_absolute(x: float, y: float, t0: float, t1: float) -> bool:
    """QTI 2.1 ``equal`` in absolute mode with both bounds included."""
    return y - t0 <= x <= y + t1


def qti_map_response(mapping: dict[str, float], chosen: set[str], low: float, high: float):
    """QTI 2.1 ``mapResponse``: sum of mapped values of the chosen, clamped to bounds."""
    return min(high, max(low, sum(mapping.get(c, 0.0) for c in chosen)))


def probes(value: float, margin: float) -> list[tuple[float, bool]]:
    """Responses just inside (True) and just outside (False) ``value +- margin``."""
    if margin == 0:
        step = max(abs(value), 1.0) * 1e-9
        return [(value, True), (value + step, False), (value - step, False)]
    step = margin * 1e-6
    return [
        (value + margin - step, True),
        (value - margin + step, True),
        (value + margin + step, False),
        (value - margin - step, False),
    ]


def gift_unescape(text: str) -> str:
    """Moodle's GIFT import of escaped text (``escapedchar_pre`` then ``_post``)."""
    specials = {"\\:": ":", "\\#": "#", "\\=": "=", "\\{": "{", "\\}": "}", "\\~": "~",
                "\\n": "\n"}  # fmt: skip
    text = text.replace("\\\\", "&&092;")
    for escaped, placeholder in zip(specials, range(len(specials)), strict=True):
        text = text.replace(escaped, f"&&p{placeholder};")
    text = text.replace("&&092;", "\\")
    for placeholder, char in enumerate(specials.values()):
        text = text.replace(f"&&p{placeholder};", char)
    return text
