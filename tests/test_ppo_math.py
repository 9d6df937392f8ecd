"""Properties of the PPO formulas: the single source of truth for every key."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from questions import ppo_math as pm

ratios = st.floats(0.01, 10.0, allow_nan=False)
advantages = st.floats(-10.0, 10.0, allow_nan=False)
eps = st.floats(0.01, 0.5, allow_nan=False)


@given(ratios, advantages, eps)
def test_clipped_term_never_exceeds_unclipped(r, a, e):
    assert pm.clipped_surrogate(r, a, e) <= pm.unclipped_surrogate(r, a) + 1e-12


@given(st.floats(0.0, 1.0), advantages, eps)
def test_inside_the_clip_range_nothing_changes(u, a, e):
    r = 1 - e + u * 2 * e
    assert pm.clipped_surrogate(r, a, e) == pytest.approx(r * a)


@given(ratios, advantages, eps)
def test_zero_gradient_flag_matches_a_finite_difference(r, a, e):
    lo, hi = 1 - e, 1 + e
    assume(min(abs(r - lo), abs(r - hi)) > 1e-3)  # at a kink the derivative is one-sided
    assume(a == 0 or abs(a) > 1e-3)  # the slope is A or 0: keep A distinguishable from 0
    h = 1e-6
    slope = (pm.clipped_surrogate(r + h, a, e) - pm.clipped_surrogate(r - h, a, e)) / (2 * h)
    assert (abs(slope) < 1e-4) == pm.ratio_gradient_is_zero(r, a, e)


@given(st.floats(-20, 0), st.floats(-20, 0))
def test_ratio_from_logps_is_the_probability_ratio(logp, old_logp):
    assert pm.prob_ratio(logp, old_logp) == pytest.approx(math.exp(logp) / math.exp(old_logp))
    assert pm.prob_ratio(logp, old_logp) * pm.prob_ratio(old_logp, logp) == pytest.approx(1.0)


@given(
    st.lists(st.tuples(st.floats(-10, 0), st.floats(-10, 0)), min_size=1, max_size=20),
    st.floats(-5, 5),
    st.floats(0, 2),
)
def test_kl_penalized_rewards_add_up(tokens, score, beta):
    logps, refs = zip(*tokens, strict=True)
    rewards = pm.kl_penalized_rewards(score, logps, refs, beta)
    expected = score - beta * sum(lp - rl for lp, rl in tokens)
    assert sum(rewards) == pytest.approx(expected, abs=1e-9)
    assert rewards[:-1] == [pm.kl_penalty(lp, rl, beta) for lp, rl in tokens[:-1]]


@settings(max_examples=300)
@given(st.floats(0.001, 1), st.floats(0, 100), st.floats(0.1, 20), st.integers(1, 1000))
def test_adaptive_controller_moves_toward_the_target_by_at_most_20_percent(beta, kl, target, n):
    horizon = 1000.0
    new = pm.adaptive_kl_update(beta, kl, target, n, horizon)
    step = abs(new / beta - 1)
    assert step <= 0.2 * n / horizon + 1e-12
    if kl > target * 1.001:
        assert new > beta  # too far from the reference: penalise more
    elif kl < target * 0.999:
        assert new < beta


def test_gae_matches_discounted_returns_when_lambda_is_one():
    rewards, values = [0.1, -0.2, 1.0], [0.3, 0.2, 0.5]
    gamma = 0.9
    adv = pm.gae_advantages(rewards, values, gamma=gamma, lam=1.0)
    returns = [rewards[2] * gamma**2 + rewards[1] * gamma + rewards[0],
               rewards[2] * gamma + rewards[1], rewards[2]]  # fmt: skip
    assert adv == pytest.approx([g - v for g, v in zip(returns, values, strict=True)])


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        pm.clipped_ratio(1.0, -0.1)
    with pytest.raises(ValueError):
        pm.kl_penalized_rewards(1.0, [], [], 0.1)
    with pytest.raises(ValueError):
        pm.adaptive_kl_update(0.1, 1.0, 0.0, 1, 10)
