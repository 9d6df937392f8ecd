"""Item expressions are safe and parameters are drawn on their display grid."""

from __future__ import annotations

import pytest

from questions.errors import ExpressionError, GenerationError
from questions.expr import Expression
from questions.models import DerivedParam, ParamSpec
from questions.params import ParamSampler, derive_seed, format_value


@pytest.mark.parametrize(
    "source",
    [
        "().__class__",
        "ratio.real",
        "'text'",
        "lambda: 1",
        "open('x')",
        "[1, 2][ratio]",
        "exp(1)(2)",
        "ratio if",
    ],
)
def test_unsafe_or_invalid_expressions_are_refused(source):
    with pytest.raises(ExpressionError):
        Expression.parse(source)


def test_expression_reads_names_and_calls_ppo_math():
    expr = Expression.parse("kl_penalty(logp, ref_logp, kl_coef) + score")
    assert expr.names == {"logp", "ref_logp", "kl_coef", "score"}
    value = expr.evaluate({"logp": -0.5, "ref_logp": -1.5, "kl_coef": 0.1, "score": 2.0})
    assert value == pytest.approx(1.9)
    with pytest.raises(ExpressionError, match="unknown name 'score'"):
        expr.evaluate({"logp": -0.5, "ref_logp": -1.5, "kl_coef": 0.1})
    with pytest.raises(ExpressionError, match="fails"):
        Expression.parse("1 / x").evaluate({"x": 0.0})


def test_draws_lie_on_the_display_grid_and_are_reproducible():
    sampler = ParamSampler.build(
        {"ratio": ParamSpec(low=1.3, high=1.9, decimals=2),
         "clip_eps": ParamSpec(choices=(0.1, 0.2), decimals=1)},
        {"upper": DerivedParam(expr="1 + clip_eps", decimals=1)},
        ("ratio > upper",),
    )  # fmt: skip
    seen = set()
    for seed in range(300):
        values = sampler.draw(seed)
        assert values == sampler.draw(seed)
        assert 1.3 <= values["ratio"] <= 1.9
        assert format_value(values["ratio"], 2) == f"{values['ratio']:.2f}"
        assert float(format_value(values["ratio"], 2)) == values["ratio"]
        assert values["ratio"] > values["upper"] == 1 + values["clip_eps"]
        seen.add(values["ratio"])
    assert len(seen) > 30  # students really get different numbers
    assert sampler.display({"ratio": 1.5, "clip_eps": 0.2, "upper": 1.2}) == {
        "ratio": "1.50", "clip_eps": "0.2", "upper": "1.2"}  # fmt: skip


def test_unsatisfiable_constraints_are_a_clear_error():
    sampler = ParamSampler.build({"x": ParamSpec(low=0, high=1)}, {}, ("x > 2",))
    with pytest.raises(GenerationError, match="x > 2"):
        sampler.draw(1)


def test_unknown_names_are_caught_when_the_item_is_built():
    with pytest.raises(ExpressionError, match="unknown name 'y'"):
        ParamSampler.build({"x": ParamSpec(low=0, high=1)}, {}, ("y > 0",))


def test_seeds_depend_on_every_part():
    assert derive_seed(1, "s1", "item") != derive_seed(2, "s1", "item")
    assert derive_seed(1, "s1", "item") != derive_seed(1, "s2", "item")
    assert 0 <= derive_seed("x") < 2**63


def test_lists_with_constant_indices_reach_the_list_functions():
    expr = Expression.parse("gae_advantages([r0, r1], [v0, v1], 1.0, 1.0)[-1]")
    assert expr.evaluate({"r0": 0.0, "r1": 1.0, "v0": 0.5, "v1": 0.5}) == pytest.approx(0.5)
    for source in ("x[y]", "x[0:1]"):
        with pytest.raises(ExpressionError, match="constant index"):
            Expression.parse(source)
    with pytest.raises(ExpressionError, match="fails"):
        Expression.parse("[1, 2][5]").evaluate({})
