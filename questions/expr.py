"""Safe arithmetic expressions for bank items: answers, constraints, derived values.

An instructor writes ``clipped_surrogate(ratio, advantage, clip_eps)`` or
``ratio > 1 + clip_eps`` in YAML; no Python code is needed and none can be run. The
expression may use numbers, the item's parameter names, ``+ - * / ** %``, comparisons,
``and``/``or``/``not``, ``x if c else y``, lists ``[a, b]`` indexed by a constant
(``gae_advantages([r0, r1], [v0, v1], gamma, lam)[0]``), and calls to the functions of
``questions.ppo_math`` plus ``abs, min, max, exp, log, sqrt``.

>>> Expression.parse("clipped_surrogate(ratio, advantage, clip_eps)").evaluate(
...     {"ratio": 1.5, "advantage": 2.0, "clip_eps": 0.2})
2.4
>>> Expression.parse("__import__('os')")
Traceback (most recent call last):
...
questions.errors.ExpressionError: unknown function '__import__' in "__import__('os')"
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType

from questions import ppo_math
from questions.errors import ExpressionError

__all__ = ["FUNCTIONS", "Expression"]

FUNCTIONS: dict[str, object] = {
    **{name: getattr(ppo_math, name) for name in ppo_math.__all__},
    "abs": abs,
    "min": min,
    "max": max,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
}

_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call,
    ast.Name, ast.Load, ast.Constant, ast.keyword, ast.List, ast.Tuple, ast.Subscript,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.USub, ast.UAdd, ast.Not,
    ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
)  # fmt: skip


def _constant_index(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


@dataclass(frozen=True)
class Expression:
    """A parsed, checked, compiled expression; ``names`` are the variables it reads."""

    source: str
    names: frozenset[str]
    code: CodeType

    @classmethod
    def parse(cls, source: str) -> Expression:
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"cannot parse {source!r}: {exc.msg}") from None
        names: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                raise ExpressionError(f"{type(node).__name__} is not allowed in {source!r}")
            if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
                raise ExpressionError(f"only numbers may be literals in {source!r}")
            if isinstance(node, ast.Subscript) and not (
                isinstance(node.slice, ast.Constant)
                and type(node.slice.value) is int
                or isinstance(node.slice, ast.UnaryOp)
                and isinstance(node.slice.operand, ast.Constant)
            ):
                raise ExpressionError(f"only a constant index like [0] or [-1] in {source!r}")
            if isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                    fname = node.func.id if isinstance(node.func, ast.Name) else "?"
                    raise ExpressionError(f'unknown function {fname!r} in "{source}"')
            elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
                names.add(node.id)
        code = compile(tree, "<expression>", "eval")
        return cls(source=source, names=frozenset(names), code=code)

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The value for the given parameters (a bool for a constraint)."""
        missing = self.names - values.keys()
        if missing:
            raise ExpressionError(f"unknown name {sorted(missing)[0]!r} in {self.source!r}")
        scope = {**FUNCTIONS, **{n: values[n] for n in self.names}}
        try:
            return eval(self.code, {"__builtins__": {}}, scope)  # noqa: S307 (checked AST)
        except (ArithmeticError, ValueError, TypeError, IndexError) as exc:
            raise ExpressionError(f"{self.source!r} fails: {exc}") from None
