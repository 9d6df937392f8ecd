"""The tolerance a numeric response is graded with: ``NumericAnswer`` and its ``sigfigs`` rule.

Imports only ``questions.frozen``; ``questions.models`` builds ``NumericSpec`` on ``_Sigfigs``
and re-exports ``MAX_SIGFIGS`` and ``NumericAnswer``.

>>> NumericAnswer(value=2.4, rtol=0.01).accepts(2.41)
True
>>> NumericAnswer(value=2.4, rtol=0.01).accepts(2.5)
False
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from questions.frozen import Frozen

__all__ = ["MAX_SIGFIGS", "NumericAnswer"]


MAX_SIGFIGS = 10
"""Keys are computed to 12 significant digits (``questions.generate``); a margin finer
than the 10th digit would be within 1 % of that rounding, so no item may ask for more."""


class _Sigfigs(Frozen):
    """A model with an optional ``sigfigs``: left out of the dump when unset, so items
    and quizzes written before it existed keep their bytes, content hashes and ids."""

    sigfigs: int | None = Field(None, ge=1, le=MAX_SIGFIGS, strict=True)
    """Significant figures the response must agree with the key to (half a unit in the
    last one); the key is then shown with that many significant figures."""

    _replaces: ClassVar[tuple[str, ...]] = ()
    """Fields that ``sigfigs`` replaces: left out of the dump when it is set."""

    @model_serializer(mode="wrap")
    def _omit_unset_sigfigs(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        sigfigs = data.pop("sigfigs", None)
        if sigfigs is not None:
            for name in self._replaces:
                data.pop(name, None)
            data["sigfigs"] = sigfigs  # last, after the fields it refines
        return data


class NumericAnswer(_Sigfigs):
    """The one tolerance model, used by our grader and by every LMS export.

    A response ``x`` is accepted when ``|x - value| <= margin``, where ``margin`` is the
    largest of three terms, each left out when not asked for:

    * ``atol``, an absolute margin in the answer's units;
    * ``rtol * |value|``, a fraction of the *key* (as Moodle and Canvas define it);
    * with ``sigfigs = n``, half a unit in the n-th significant digit of the key,
      ``0.5 * 10**(floor(log10|value|) - n + 1)``: the response agrees with the key to n
      significant figures. A key of exactly 0 has no significant figures, so this term
      is 0 there (give ``atol`` for an item whose key can be 0).

    The significant-figure rule is a symmetric margin around the key, not "both round to
    the same n digits", so every LMS can state it (a nominal tolerance per variant, see
    ``questions.export.rules``): the key correctly rounded to n figures is always
    accepted, a response with more correct digits too, and a response off by more than
    half a unit in the n-th digit never is. The key's decade is that of its decimal text
    (``repr``), so ``0.09996`` to 3 figures has the margin ``5e-05``, not ``5e-04``.

    >>> key = NumericAnswer(value=0.012345, sigfigs=3)
    >>> key.margin, key.display()
    (5e-05, '0.0123')
    >>> [key.accepts(x) for x in (0.0123, 0.01234, 0.012395, 0.0124, 0.012)]
    [True, True, True, False, False]
    """

    value: float
    rtol: float = Field(0.0, ge=0, le=1)
    """Relative tolerance, a fraction of |value| (0.01 = 1 %)."""
    atol: float = Field(0.0, ge=0)
    """Absolute tolerance, in the answer's units."""
    decimals: int = Field(3, ge=0, le=10)
    """Decimals the key is shown with when ``sigfigs`` is not set (the displayed key must
    itself be accepted)."""

    @property
    def sig_margin(self) -> float:
        """The significant-figure term of the margin (0 without ``sigfigs`` or for a key
        of 0): half a unit in the ``sigfigs``-th significant digit of the key."""
        if self.sigfigs is None or self.value == 0 or not math.isfinite(self.value):
            return 0.0
        return float(Decimal(5).scaleb(_exponent(self.value) - self.sigfigs))

    @property
    def margin(self) -> float:
        """The accepted distance from ``value`` (the one number every export states)."""
        return max(self.atol, self.rtol * abs(self.value), self.sig_margin)

    def at(self, value: float) -> NumericAnswer:
        """The same tolerance around another value (a misconception's, say).

        >>> NumericAnswer(value=0.5, sigfigs=2).at(12.3).margin
        0.5
        """
        return self.model_copy(update={"value": float(value)})

    def accepts(self, x: float) -> bool:
        """Whether ``x`` is within the tolerance (NaN and infinity never are)."""
        if not math.isfinite(x):
            return False
        margin = self.margin
        slack = 1e-14 * max(abs(self.value), margin)  # float noise at the exact border
        return abs(x - self.value) <= margin + slack

    def display(self) -> str:
        """The key as shown to instructors: ``value`` to ``sigfigs`` significant figures
        (positional, half up, trailing zeros kept), else rounded to ``decimals``.

        >>> [NumericAnswer(value=v, sigfigs=3).display() for v in (0.09996, -1234.5, 2.5)]
        ['0.100', '-1230', '2.50']
        """
        if self.sigfigs is not None and self.value != 0 and math.isfinite(self.value):
            return _significant(self.value, self.sigfigs)
        text = f"{self.value:.{self.decimals}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def _exponent(value: float) -> int:
    """``floor(log10(|value|))`` of the value's decimal text, exactly (no log10 rounding)."""
    return Decimal(repr(abs(value))).adjusted()


def _significant(value: float, n: int) -> str:
    """``value`` rounded half up to ``n`` significant figures, in positional notation."""
    exact = Decimal(repr(value))
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - n + 1), ROUND_HALF_UP)
    if rounded.adjusted() > exact.adjusted():  # 0.09996 -> 0.1000: one digit too many
        rounded = rounded.quantize(Decimal(1).scaleb(rounded.adjusted() - n + 1))
    return f"{rounded:f}"
