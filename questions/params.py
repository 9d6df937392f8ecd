"""Seeds, parameter draws and display rounding.

Seeds are content hashes (blake2b), so the same quiz seed, student and item always give
the same variant, on any machine and in any order. Parameters are drawn on the grid of
their display decimals, so the value a student sees *is* the value the key uses.

>>> derive_seed(7, "s001", "clip") == derive_seed(7, "s001", "clip")
True
>>> derive_seed(7, "s001", "clip") == derive_seed(7, "s002", "clip")
False
>>> format_value(-0.0001, 2)
'0.00'
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from questions.errors import ExpressionError, GenerationError
from questions.expr import Expression
from questions.models import DerivedParam, ParamSpec

__all__ = ["MAX_DRAWS", "ParamSampler", "derive_seed", "digest", "format_value", "round_to"]

MAX_DRAWS = 1000
"""Draws tried before the constraints are declared unsatisfiable."""


def digest(data: bytes, size: int = 16) -> str:
    """Hex blake2b digest of ``data`` (``size`` bytes)."""
    return hashlib.blake2b(data, digest_size=size).hexdigest()


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (their ``str``), stable across runs and machines."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


def round_to(value: float, decimals: int) -> float:
    """Round half away from zero as displayed, never returning ``-0.0``.

    >>> round_to(2.675, 2), round_to(-0.004, 2)
    (2.68, 0.0)
    """
    rounded = float(format_value(value, decimals))
    return rounded + 0.0  # -0.0 + 0.0 == 0.0


def format_value(value: float, decimals: int) -> str:
    """The value as a student sees it, e.g. ``1.50``; no ``-0.00``.

    Uses the decimal expansion of the float's shortest repr, so 2.675 shows as 2.68.
    """
    text = f"{value:.{decimals}f}"
    if float(text) == value and text != f"-{0:.{decimals}f}":
        return text  # the value lies on the grid (every drawn value does): exact already
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-decimals)
    text = str(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]
    return text


@dataclass(frozen=True)
class ParamSampler:
    """Draws an item's parameters: drawn values on their grid, derived values, and
    constraints, redrawing until every constraint holds."""

    params: Mapping[str, ParamSpec]
    derived: Mapping[str, tuple[Expression, DerivedParam]]
    constraints: tuple[Expression, ...]
    grids: Mapping[str, tuple[Sequence[float], int]]
    """Per drawn parameter: the values a draw picks from and the scale it divides by."""
    decimals: Mapping[str, int]
    """Display decimals of every drawn and derived name."""

    @classmethod
    def build(
        cls,
        params: Mapping[str, ParamSpec],
        derived: Mapping[str, DerivedParam],
        constraints: tuple[str, ...],
    ) -> ParamSampler:
        """Parse every expression and check it only reads known names."""
        known = set(params)
        parsed: dict[str, tuple[Expression, DerivedParam]] = {}
        for name, spec in derived.items():  # in order: a derived value may use earlier ones
            expr = Expression.parse(spec.expr)
            _check_names(expr, known, f"derived.{name}")
            parsed[name] = (expr, spec)
            known.add(name)
        checks = []
        for i, source in enumerate(constraints):
            expr = Expression.parse(source)
            _check_names(expr, known, f"constraints[{i}]")
            checks.append(expr)
        return cls(
            params=dict(params),
            derived=parsed,
            constraints=tuple(checks),
            grids={name: _grid(spec) for name, spec in params.items()},
            decimals={n: p.decimals for n, p in params.items()}
            | {n: d.decimals for n, (_, d) in parsed.items()},
        )

    @property
    def names(self) -> set[str]:
        return set(self.params) | set(self.derived)

    def draw(self, seed: int) -> dict[str, float]:
        """The parameters for one variant (rounded as displayed)."""
        rng = random.Random(seed)
        for _ in range(MAX_DRAWS):
            # on the grid already (k / 10**decimals, or a rounded choice): no rounding
            values = {name: rng.choice(grid) / scale for name, (grid, scale) in self.grids.items()}
            for name, (expr, spec) in self.derived.items():
                values[name] = round_to(float(expr.evaluate(values)), spec.decimals)
            if all(bool(c.evaluate(values)) for c in self.constraints):
                return values
        raise GenerationError(
            f"constraints never held in {MAX_DRAWS} draws: "
            + "; ".join(c.source for c in self.constraints)
        )

    def display(self, values: Mapping[str, float]) -> dict[str, str]:
        """The values formatted as the student sees them."""
        return {name: format_value(values[name], self.decimals[name]) for name in values}


def _grid(spec: ParamSpec) -> tuple[Sequence[float], int]:
    """What a draw picks from, and the scale it is divided by: the rounded choices (scale
    1), or every integer of ``[low, high] * 10**decimals`` (scale ``10**decimals``)."""
    if spec.choices is not None:
        return tuple(round_to(c, spec.decimals) for c in spec.choices), 1
    assert spec.low is not None and spec.high is not None
    scale = 10**spec.decimals
    return range(round(spec.low * scale), round(spec.high * scale) + 1), scale


def _check_names(expr: Expression, known: set[str], where: str) -> None:
    unknown = expr.names - known
    if unknown:
        raise ExpressionError(f"{where}: unknown name {sorted(unknown)[0]!r} in {expr.source!r}")
