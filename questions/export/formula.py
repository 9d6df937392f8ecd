"""Answer expressions as LMS formulas (Moodle ``calculated``, Canvas ``calculated_question``).

An item's answer is an expression over its parameters that calls ``questions.ppo_math``
(``clipped_surrogate(ratio, advantage, clip_eps)``). An LMS knows only arithmetic and a
few functions, so the ``ppo_math`` calls are inlined into plain arithmetic first and then
printed in the LMS's syntax. The inlined bodies below are the LMS twins of ``ppo_math``
(as the simulator's torch losses are its vectorised twins): a test evaluates every
translated formula on every drawn variant and checks it equals the key ``ppo_math`` gave.
Anything with no arithmetic equivalent (a comparison, ``x if c else y``, a sequence
function such as ``gae_advantages``) raises ``Unexpressible`` and the exporter falls
back to pre-drawn variants.

>>> to_moodle("clipped_surrogate(ratio, advantage, clip_eps)")
'min({ratio} * {advantage}, min(max({ratio}, 1 - {clip_eps}), 1 + {clip_eps}) * {advantage})'
>>> to_canvas("prob_ratio(logp, old_logp) ** 2", {"logp": "logp", "old_logp": "oldlogp"})
'exp(logp - oldlogp)^2'
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping

from questions.export.errors import Unexpressible

__all__ = ["INLINE", "inline", "to_canvas", "to_moodle"]

INLINE: dict[str, tuple[tuple[str, ...], str]] = {
    "clip": (("x", "low", "high"), "min(max(x, low), high)"),
    "prob_ratio": (("logp", "old_logp"), "exp(logp - old_logp)"),
    "clipped_ratio": (("ratio", "clip_eps"), "clip(ratio, 1 - clip_eps, 1 + clip_eps)"),
    "unclipped_surrogate": (("ratio", "advantage"), "ratio * advantage"),
    "clipped_surrogate": (
        ("ratio", "advantage", "clip_eps"),
        "min(ratio * advantage, clipped_ratio(ratio, clip_eps) * advantage)",
    ),
    "policy_loss": (("ratio", "advantage", "clip_eps"),
                    "0 - clipped_surrogate(ratio, advantage, clip_eps)"),
    "kl_k1": (("logp", "ref_logp"), "logp - ref_logp"),
    "kl_penalty": (("logp", "ref_logp", "kl_coef"), "0 - kl_coef * kl_k1(logp, ref_logp)"),
    "adaptive_kl_update": (
        ("kl_coef", "current_kl", "target", "n_steps", "horizon"),
        "kl_coef * (1 + clip(current_kl / target - 1, -0.2, 0.2) * n_steps / horizon)",
    ),
}  # fmt: skip
"""``ppo_math`` functions as arithmetic: name -> (parameters, body)."""

_BUILTINS = ("abs", "min", "max", "exp", "log", "sqrt")
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def inline(source: str) -> ast.expr:
    """The expression's tree with every ``ppo_math`` call replaced by its body."""
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        raise Unexpressible(f"cannot parse {source!r}") from None
    return _Inliner().visit(tree)


class _Inliner(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.expr:
        node = self.generic_visit(node)  # type: ignore[assignment]
        name = node.func.id if isinstance(node.func, ast.Name) else "?"
        if name in _BUILTINS:
            if node.keywords:
                raise Unexpressible(f"keyword arguments to {name}()")
            return node
        if name not in INLINE:
            raise Unexpressible(f"{name}() has no formula equivalent")
        params, body = INLINE[name]
        args = list(node.args)
        for kw in node.keywords:
            if kw.arg not in params:
                raise Unexpressible(f"{name}() has no argument {kw.arg!r}")
            args.append(kw.value)
        if len(args) != len(params):
            raise Unexpressible(f"{name}() takes {len(params)} arguments, got {len(args)}")
        if node.keywords:  # positional first, then keywords in parameter order
            by_name = dict(zip(params, node.args, strict=False))
            by_name |= {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
            args = [by_name[p] for p in params]
        bound = dict(zip(params, args, strict=True))
        expanded = _Binder(bound).visit(ast.parse(body, mode="eval").body)
        return self.visit(expanded)


class _Binder(ast.NodeTransformer):
    def __init__(self, bound: Mapping[str, ast.expr]):
        self.bound = bound

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return copy.deepcopy(self.bound[node.id]) if node.id in self.bound else node


class _Dialect:
    """How one LMS spells names, functions and powers."""

    def __init__(self, name: Callable[[str], str], functions: Mapping[str, str], power):
        self.name, self.functions, self.power = name, functions, power


def _print(node: ast.expr, d: _Dialect) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        if isinstance(node.value, bool):
            raise Unexpressible("booleans have no formula equivalent")
        return repr(node.value)
    if isinstance(node, ast.Name):
        return d.name(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _print(node.operand, d)
        if isinstance(node.operand, (ast.BinOp, ast.UnaryOp)):
            inner = f"({inner})"
        return ("-" if isinstance(node.op, ast.USub) else "") + inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return d.power(_operand(node.left, d, 3), _operand(node.right, d, 3))
    if isinstance(node, ast.BinOp) and type(node.op) in _PRECEDENCE:
        prec = _PRECEDENCE[type(node.op)]
        left = _operand(node.left, d, prec)
        right = _operand(node.right, d, prec + (isinstance(node.op, (ast.Sub, ast.Div))))
        return f"{left} {_SYMBOL[type(node.op)]} {right}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = ", ".join(_print(a, d) for a in node.args)
        return f"{d.functions[node.func.id]}({args})"
    raise Unexpressible(f"{type(node).__name__} has no formula equivalent")


def _operand(node: ast.expr, d: _Dialect, min_prec: int) -> str:
    text = _print(node, d)
    if isinstance(node, ast.BinOp) and _PRECEDENCE.get(type(node.op), 3) < min_prec:
        return f"({text})"
    if isinstance(node, ast.UnaryOp) and min_prec > 1:
        return f"({text})"
    return text


_MOODLE = _Dialect(
    name=lambda n: "{" + n + "}",
    functions={f: f for f in _BUILTINS},  # PHP: log is the natural logarithm
    power=lambda a, b: f"pow({_strip(a)}, {_strip(b)})",
)


def _strip(text: str) -> str:
    return text[1:-1] if text.startswith("(") and text.endswith(")") and _balanced(text) else text


def _balanced(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def to_moodle(source: str) -> str:
    """The answer expression as a Moodle formula: ``{name}`` wildcards, ``log`` = ln."""
    return _print(inline(source), _MOODLE)


def to_canvas(source: str, names: Mapping[str, str]) -> str:
    """The answer expression as a Canvas formula (``names``: our name -> Canvas name;
    ``ln`` for the natural logarithm, ``^`` for powers)."""
    dialect = _Dialect(
        name=lambda n: names[n],
        functions={**{f: f for f in _BUILTINS}, "log": "ln"},
        power=lambda a, b: f"{a}^{b}",
    )
    return _print(inline(source), dialect)
