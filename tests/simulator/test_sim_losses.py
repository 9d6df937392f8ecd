"""The torch losses equal their plain-Python sources of truth in questions.ppo_math."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from questions import ppo_math
from simulator import losses

finite = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)
logps = st.floats(min_value=-8.0, max_value=0.0, allow_nan=False)
eps = st.floats(min_value=0.0, max_value=0.5, allow_nan=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _t(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


@st.composite
def batches(draw, columns: int = 2):
    """``columns`` lists of B rows of T floats each (B, T >= 1)."""
    b = draw(st.integers(1, 4))
    t = draw(st.integers(1, 6))
    return [
        [[draw(logps if c else finite) for _ in range(t)] for _ in range(b)] for c in range(columns)
    ]


@given(logps, logps)
def test_prob_ratio(logp: float, old_logp: float) -> None:
    got = losses.prob_ratio(_t([[logp]]), _t([[old_logp]])).item()
    assert math.isclose(got, ppo_math.prob_ratio(logp, old_logp), rel_tol=1e-12)


@given(st.lists(st.tuples(st.floats(0.0, 3.0), finite), min_size=1, max_size=8), eps)
def test_clipped_surrogate_and_policy_loss(pairs: list[tuple[float, float]], clip_eps) -> None:
    ratio = _t([[r for r, _ in pairs]])
    advantage = _t([[a for _, a in pairs]])
    surrogate = losses.clipped_surrogate(ratio, advantage, clip_eps)[0].tolist()
    loss = losses.policy_loss(ratio, advantage, clip_eps)[0].tolist()
    for (r, a), s, pl in zip(pairs, surrogate, loss, strict=True):
        assert s == pytest.approx(ppo_math.clipped_surrogate(r, a, clip_eps), abs=1e-12)
        assert pl == pytest.approx(ppo_math.policy_loss(r, a, clip_eps), abs=1e-12)


@given(st.lists(st.tuples(st.floats(0.0, 3.0), finite), min_size=1, max_size=8), eps)
def test_clip_fraction_counts_zero_gradient_tokens(pairs, clip_eps: float) -> None:
    pairs = [(r, a) for r, a in pairs if a != 0]  # A == 0 is trivially zero-gradient
    if not pairs:
        return
    ratio = _t([[r for r, _ in pairs]])
    advantage = _t([[a for _, a in pairs]])
    expected = sum(ppo_math.ratio_gradient_is_zero(r, a, clip_eps) for r, a in pairs)
    assert losses.clip_fraction(ratio, advantage, clip_eps) == pytest.approx(expected / len(pairs))


@given(batches(columns=3), st.floats(0.0, 5.0))
def test_kl_penalized_rewards(rows, kl_coef: float) -> None:
    scores_rows, logp_rows, ref_rows = rows
    scores = [r[0] for r in scores_rows]
    got = losses.kl_penalized_rewards(_t([scores])[0], _t(logp_rows), _t(ref_rows), kl_coef)
    for b, score in enumerate(scores):
        expected = ppo_math.kl_penalized_rewards(score, logp_rows[b], ref_rows[b], kl_coef)
        assert got[b].tolist() == pytest.approx(expected, abs=1e-9)


@given(batches(columns=2), unit, unit)
def test_gae_advantages(rows, gamma: float, lam: float) -> None:
    rewards, values = rows
    got = losses.gae_advantages(_t(rewards), _t(values), gamma, lam)
    for b in range(len(rewards)):
        expected = ppo_math.gae_advantages(rewards[b], values[b], gamma, lam)
        assert got[b].tolist() == pytest.approx(expected, abs=1e-9)


@settings(max_examples=50)
@given(st.floats(0.001, 1.0), st.floats(0.0, 50.0), st.floats(0.1, 20.0), st.integers(1, 512))
def test_adaptive_controller_follows_ppo_math(kl_coef, kl, target, n_steps) -> None:
    controller = losses.KLController(kl_coef, adaptive=True, target=target, horizon=1000)
    controller.update(kl, n_steps)
    expected = ppo_math.adaptive_kl_update(kl_coef, kl, target, n_steps, 1000)
    assert controller.kl_coef == pytest.approx(expected, rel=1e-12)
    fixed = losses.KLController(kl_coef)
    fixed.update(kl, n_steps)
    assert fixed.kl_coef == kl_coef


def test_exact_kl_is_zero_for_equal_policies_and_positive_otherwise() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, generator=gen)
    logits[..., 0] = float("-inf")  # a masked special token
    assert torch.allclose(losses.exact_kl(logits, logits), torch.zeros(2, 3))
    other = logits + torch.randn(2, 3, 5, generator=gen)
    assert (losses.exact_kl(logits, other) > 0).all()


def test_exact_kl_matches_a_hand_computation() -> None:
    p, q = [0.5, 0.5], [0.9, 0.1]
    expected = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    got = losses.exact_kl(_t([[p]]).log(), _t([[q]]).log()).item()
    assert got == pytest.approx(expected)


def test_value_loss_clips_the_move_away_from_old_values() -> None:
    old = _t([[0.0]])
    returns = _t([[1.0]])
    near = losses.value_loss(_t([[0.1]]), old, returns, clip_value=0.2).item()
    far = losses.value_loss(_t([[0.9]]), old, returns, clip_value=0.2).item()
    assert near == pytest.approx(0.5 * 0.9**2)
    assert far == pytest.approx(0.5 * 0.8**2)  # the clipped prediction (0.2) counts


def test_whiten() -> None:
    x = _t([[1.0, 2.0], [3.0, 4.0]])
    w = losses.whiten(x)
    assert w.mean().item() == pytest.approx(0.0, abs=1e-12)
    assert w.std().item() == pytest.approx(1.0, rel=1e-6)
