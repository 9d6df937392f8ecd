"""The PPO losses in torch: vectorised twins of :mod:`questions.ppo_math`.

Each function computes, over a ``(B, T)`` batch of response tokens, exactly what its
plain-Python namesake computes for one token or one response; a hypothesis test checks
them equal. The adaptive KL controller reuses :func:`questions.ppo_math.adaptive_kl_update`
itself (a scalar: there is nothing to vectorise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from questions import ppo_math

if TYPE_CHECKING:
    import torch

__all__ = [
    "KLController",
    "approx_kl",
    "clip_fraction",
    "clipped_surrogate",
    "exact_kl",
    "gae_advantages",
    "kl_penalized_rewards",
    "policy_loss",
    "prob_ratio",
    "value_loss",
    "whiten",
]


def prob_ratio(logp: torch.Tensor, old_logp: torch.Tensor) -> torch.Tensor:
    """``exp(logp - old_logp)``, elementwise (twin of ``ppo_math.prob_ratio``)."""
    import torch

    return torch.exp(logp - old_logp)


def clipped_surrogate(
    ratio: torch.Tensor, advantage: torch.Tensor, clip_eps: float
) -> torch.Tensor:
    """``min(r * A, clip(r, 1 - eps, 1 + eps) * A)``, elementwise."""
    import torch

    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return torch.minimum(ratio * advantage, clipped * advantage)


def policy_loss(ratio: torch.Tensor, advantage: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """The negated clipped surrogate, elementwise (average it to get the loss)."""
    return -clipped_surrogate(ratio, advantage, clip_eps)


def clip_fraction(ratio: torch.Tensor, advantage: torch.Tensor, clip_eps: float) -> float:
    """Fraction of tokens whose surrogate is the clipped branch with zero gradient
    (``ppo_math.ratio_gradient_is_zero``, A != 0): TRL's ``ppo/policy/clipfrac``."""
    outside = ((advantage > 0) & (ratio > 1 + clip_eps)) | (
        (advantage < 0) & (ratio < 1 - clip_eps)
    )
    return outside.float().mean().item()


def approx_kl(logp: torch.Tensor, old_logp: torch.Tensor) -> float:
    """``mean(0.5 * (logp - old_logp)^2)``, TRL's ``ppo/policy/approxkl``."""
    return (0.5 * (logp - old_logp).pow(2)).mean().item()


def kl_penalized_rewards(
    score: torch.Tensor, logp: torch.Tensor, ref_logp: torch.Tensor, kl_coef: float
) -> torch.Tensor:
    """Per-token rewards ``-beta * (logp - ref_logp)``, plus the score on the last token.

    ``score`` is ``(B,)``; ``logp`` and ``ref_logp`` are ``(B, T)``; returns ``(B, T)``.
    """
    rewards = -kl_coef * (logp - ref_logp)  # (B, T)
    rewards[:, -1] += score
    return rewards


def gae_advantages(
    rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float
) -> torch.Tensor:
    """GAE over ``(B, T)`` episodes that end after the last token (``V_T = 0``)."""
    import torch

    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])  # (B,)
    next_adv = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_adv = delta + gamma * lam * next_adv
        advantages[:, t] = next_adv
        next_value = values[:, t]
    return advantages


def whiten(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``(x - mean) / std`` over the whole batch (advantage whitening)."""
    return (x - x.mean()) / (x.std() + eps)


def value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_value: float
) -> torch.Tensor:
    """The clipped value loss ``0.5 * mean(max((v - R)^2, (v_clipped - R)^2))``."""
    import torch

    clipped = old_values + torch.clamp(values - old_values, -clip_value, clip_value)
    return 0.5 * torch.maximum((values - returns) ** 2, (clipped - returns) ** 2).mean()


def exact_kl(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """``KL(pi || pi_ref)`` over the vocabulary at every position: ``(B, T, V) -> (B, T)``.

    Masked (-inf) logits must be the same in both; their terms count as zero.
    """
    import torch

    logp = torch.log_softmax(logits, dim=-1)
    ref_logp = torch.log_softmax(ref_logits, dim=-1)
    terms = logp.exp() * (logp - ref_logp)
    return torch.nan_to_num(terms, nan=0.0).sum(-1)


@dataclass
class KLController:
    """beta, fixed or adapted (Ziegler et al. 2019) after every rollout.

    >>> c = KLController(kl_coef=0.1, adaptive=True, target=6.0, horizon=10000)
    >>> c.update(current_kl=12.0, n_steps=256); round(c.kl_coef, 6)
    0.100512
    """

    kl_coef: float
    """The current beta."""
    adaptive: bool = False
    """Whether :meth:`update` changes beta."""
    target: float = 1.0
    """Target KL per response (nats)."""
    horizon: float = 10000.0
    """Horizon in episodes."""

    def update(self, current_kl: float, n_steps: int) -> None:
        """Adapt beta to the KL of the last rollout of ``n_steps`` episodes."""
        if self.adaptive:
            self.kl_coef = ppo_math.adaptive_kl_update(
                self.kl_coef, current_kl, self.target, n_steps, self.horizon
            )
