"""The PPO-with-KL-penalty formulas in plain Python: the single source of truth.

Every numeric answer key in the bank is computed by a function of this module, and the
simulator's torch losses are its vectorised twins (a hypothesis test checks they agree).
Vocabulary (the README's glossary maps the paper's symbols to these names):

====================  =========  =============================================
paper                 here       meaning
====================  =========  =============================================
r                     ratio      pi(a|s) / pi_old(a|s), from log-probabilities
A                     advantage  how much better the action was than expected
epsilon               clip_eps   half-width of the clip range [1-eps, 1+eps]
beta                  kl_coef    weight of the KL penalty to the reference policy
log pi                logp       log-probability under the policy being trained
log pi_ref            ref_logp   log-probability under the frozen reference
====================  =========  =============================================

>>> clipped_surrogate(ratio=1.5, advantage=2.0, clip_eps=0.2)
2.4
>>> ratio_gradient_is_zero(ratio=1.5, advantage=2.0, clip_eps=0.2)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "adaptive_kl_update",
    "clip",
    "clipped_ratio",
    "clipped_surrogate",
    "gae_advantages",
    "kl_k1",
    "kl_penalized_rewards",
    "kl_penalty",
    "policy_loss",
    "prob_ratio",
    "ratio_gradient_is_zero",
    "unclipped_surrogate",
]


def clip(x: float, low: float, high: float) -> float:
    """Clamp ``x`` into ``[low, high]``.

    >>> clip(1.5, 0.8, 1.2), clip(0.5, 0.8, 1.2), clip(1.0, 0.8, 1.2)
    (1.2, 0.8, 1.0)
    """
    if low > high:
        raise ValueError(f"clip: low {low} is above high {high}")
    return min(max(x, low), high)


def prob_ratio(logp: float, old_logp: float) -> float:
    """The probability ratio ``r = exp(logp - old_logp)`` of the new to the old policy.

    >>> round(prob_ratio(math.log(0.6), math.log(0.4)), 6)
    1.5
    >>> prob_ratio(-1.0, -1.0)
    1.0
    """
    return math.exp(logp - old_logp)


def clipped_ratio(ratio: float, clip_eps: float) -> float:
    """``clip(r, 1 - eps, 1 + eps)``.

    >>> clipped_ratio(1.5, 0.2), clipped_ratio(0.5, 0.2)
    (1.2, 0.8)
    """
    if clip_eps < 0:
        raise ValueError(f"clip_eps must be >= 0, got {clip_eps}")
    return clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)


def unclipped_surrogate(ratio: float, advantage: float) -> float:
    """The plain policy-gradient surrogate ``r * A``.

    >>> unclipped_surrogate(1.5, 2.0)
    3.0
    """
    return ratio * advantage


def clipped_surrogate(ratio: float, advantage: float, clip_eps: float) -> float:
    """PPO's clipped surrogate ``min(r * A, clip(r, 1 - eps, 1 + eps) * A)``.

    The minimum makes it a pessimistic bound: it never exceeds ``r * A``.

    >>> clipped_surrogate(1.5, 2.0, 0.2)   # positive A, ratio above 1 + eps: clipped
    2.4
    >>> clipped_surrogate(0.5, -1.0, 0.2)  # negative A, ratio below 1 - eps: clipped
    -0.8
    >>> clipped_surrogate(1.5, -1.0, 0.2)  # negative A, ratio above: not clipped
    -1.5
    """
    return min(ratio * advantage, clipped_ratio(ratio, clip_eps) * advantage)


def policy_loss(ratio: float, advantage: float, clip_eps: float) -> float:
    """The per-token PPO policy loss, the negated clipped surrogate (it is minimised).

    >>> policy_loss(1.5, 2.0, 0.2)
    -2.4
    """
    return -clipped_surrogate(ratio, advantage, clip_eps)


def ratio_gradient_is_zero(ratio: float, advantage: float, clip_eps: float) -> bool:
    """Whether the clipped surrogate has zero gradient with respect to the ratio.

    That happens when the clipped branch is the minimum and the ratio lies strictly
    outside the clip range on the side the advantage pushes it: ``A > 0`` and
    ``r > 1 + eps``, or ``A < 0`` and ``r < 1 - eps``; and trivially when ``A == 0``.

    >>> ratio_gradient_is_zero(1.5, 2.0, 0.2), ratio_gradient_is_zero(1.5, -2.0, 0.2)
    (True, False)
    >>> ratio_gradient_is_zero(0.7, -1.0, 0.2), ratio_gradient_is_zero(0.7, 1.0, 0.2)
    (True, False)
    """
    if advantage == 0:
        return True
    if advantage > 0:
        return ratio > 1.0 + clip_eps
    return ratio < 1.0 - clip_eps


def kl_k1(logp: float, ref_logp: float) -> float:
    """The per-token k1 estimate of KL(policy || reference): ``logp - ref_logp``.

    >>> kl_k1(-0.5, -1.5)
    1.0
    """
    return logp - ref_logp


def kl_penalty(logp: float, ref_logp: float, kl_coef: float) -> float:
    """The per-token KL penalty reward ``-beta * (logp - ref_logp)``.

    >>> kl_penalty(-0.5, -1.5, 0.1)
    -0.1
    """
    return 0.0 - kl_coef * kl_k1(logp, ref_logp)  # 0.0 - x: no "-0.0" in keys


def kl_penalized_rewards(
    score: float, logps: Sequence[float], ref_logps: Sequence[float], kl_coef: float
) -> list[float]:
    """Per-token rewards of one response: the KL penalty on every token, plus the
    sequence score (from the reward model) on the last token.

    >>> kl_penalized_rewards(1.0, [-1.0, -0.5], [-1.0, -1.5], 0.1)
    [0.0, 0.9]
    """
    if len(logps) != len(ref_logps):
        raise ValueError(f"logps has {len(logps)} tokens, ref_logps {len(ref_logps)}")
    if not logps:
        raise ValueError("a response needs at least one token")
    rewards = [kl_penalty(lp, rlp, kl_coef) for lp, rlp in zip(logps, ref_logps, strict=True)]
    rewards[-1] += score
    return rewards


def gae_advantages(
    rewards: Sequence[float], values: Sequence[float], gamma: float, lam: float
) -> list[float]:
    """Generalised advantage estimates of one episode that ends after the last token.

    ``delta_t = r_t + gamma * V_{t+1} - V_t`` (with ``V_T = 0``) and
    ``A_t = delta_t + gamma * lam * A_{t+1}``.

    >>> gae_advantages([0.0, 1.0], [0.5, 0.5], gamma=1.0, lam=1.0)
    [0.5, 0.5]
    """
    if len(rewards) != len(values):
        raise ValueError(f"{len(rewards)} rewards but {len(values)} values")
    advantages = [0.0] * len(rewards)
    next_value, next_adv = 0.0, 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        advantages[t] = next_adv
        next_value = values[t]
    return advantages


def adaptive_kl_update(
    kl_coef: float, current_kl: float, target: float, n_steps: int, horizon: float
) -> float:
    """One update of the adaptive KL controller of Ziegler et al. (2019).

    ``e = clip(KL / target - 1, -0.2, 0.2)`` and ``beta <- beta * (1 + e * n / horizon)``,
    where ``n`` is the number of episodes (samples) since the last update.

    >>> round(adaptive_kl_update(0.1, current_kl=12.0, target=6.0, n_steps=256, horizon=10000), 6)
    0.100512
    >>> round(adaptive_kl_update(0.1, current_kl=6.0, target=6.0, n_steps=256, horizon=10000), 6)
    0.1
    """
    if target <= 0 or horizon <= 0:
        raise ValueError("target and horizon must be positive")
    proportional_error = clip(current_kl / target - 1.0, -0.2, 0.2)
    return kl_coef * (1.0 + proportional_error * n_steps / horizon)
