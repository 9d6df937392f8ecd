"""The configuration of one PPO run: frozen, every field documented, derived values
as properties (nothing is patched after parsing).

>>> config = RunConfig(kl_coef=0.3, batch_size=64, num_minibatches=4)
>>> config.minibatch_size, config.total_episodes
(16, 19200)
>>> RunConfig(kl_coef=-1.0)
Traceback (most recent call last):
...
simulator.errors.SimulatorError: kl_coef must be >= 0, got -1.0
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

from simulator.errors import SimulatorError
from simulator.pretrain import PretrainConfig
from simulator.reward_model import RewardModelConfig

__all__ = ["REWARDS", "RunConfig"]

REWARDS = ("proxy", "gold", "learned")
"""The rewards PPO can optimise."""


@dataclass(frozen=True)
class RunConfig:
    """One PPO run on the toy language (the defaults are the bench run)."""

    # --- the experiment
    kl_coef: float = 0.3
    """beta: weight of the per-token KL penalty ``-beta * (logp - ref_logp)``; the
    starting value when ``adaptive_kl`` is on."""
    adaptive_kl: bool = False
    """Adapt beta with the controller of Ziegler et al. (2019) instead of keeping it."""
    kl_target: float = 5.0
    """Target KL (nats per response) of the adaptive controller (a healthy run's KL)."""
    kl_horizon: float = 500.0
    """Horizon of the adaptive controller, in episodes (much shorter and beta
    overshoots; started at 0.01 with these defaults it ends near its target)."""
    reward: Literal["proxy", "gold", "learned"] = "proxy"
    """The score PPO maximises: ``proxy`` (flawed by hand), ``gold`` (the truth) or
    ``learned`` (a Bradley-Terry reward model trained on gold-labelled pairs of the
    reference's samples, :mod:`simulator.reward_model`, flawed off its training
    distribution; cached, trained on first use)."""
    steps: int = 300
    """PPO iterations (one rollout batch each)."""
    seed: int = 1
    """Seed of the policy's sampling, the value head and the minibatch order."""

    # --- rollouts
    batch_size: int = 64
    """Episodes (responses) per rollout."""
    response_length: int = 16
    """Tokens the policy writes per response (always exactly this many)."""

    # --- PPO
    learning_rate: float = 3e-4
    """Adam learning rate of the policy and value head."""
    ppo_epochs: int = 4
    """Passes over each rollout batch."""
    num_minibatches: int = 2
    """Minibatches per pass."""
    clip_eps: float = 0.2
    """epsilon: the ratio is clipped to ``[1 - clip_eps, 1 + clip_eps]``."""
    clip_value: float = 0.2
    """Value predictions may move at most this far from the rollout's values."""
    vf_coef: float = 0.1
    """Weight of the value loss in the total loss."""
    gamma: float = 1.0
    """Discount of GAE."""
    lam: float = 0.95
    """lambda of GAE."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this global norm."""

    # --- bookkeeping
    sample_every: int = 50
    """Steps between kept sample texts (the first and last steps are always kept)."""
    n_samples: int = 4
    """Texts kept at each sample checkpoint."""
    device: str = "auto"
    """``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    threads: int = 1
    """Torch CPU threads (one is fastest for a model this small)."""
    pretrain: PretrainConfig = PretrainConfig()
    """The reference model (looked up in the cache by its content hash)."""

    def __post_init__(self) -> None:
        checks = [
            ("kl_coef", self.kl_coef >= 0, ">= 0"),
            ("kl_target", self.kl_target > 0, "> 0"),
            ("kl_horizon", self.kl_horizon > 0, "> 0"),
            ("steps", self.steps >= 1, ">= 1"),
            ("batch_size", self.batch_size >= 2, ">= 2"),
            ("response_length", 1 <= self.response_length <= 48, "in [1, 48]"),
            ("learning_rate", self.learning_rate > 0, "> 0"),
            ("ppo_epochs", self.ppo_epochs >= 1, ">= 1"),
            ("num_minibatches", self.num_minibatches >= 1, ">= 1"),
            ("clip_eps", self.clip_eps >= 0, ">= 0"),
            ("clip_value", self.clip_value >= 0, ">= 0"),
            ("gamma", 0 <= self.gamma <= 1, "in [0, 1]"),
            ("lam", 0 <= self.lam <= 1, "in [0, 1]"),
            ("threads", self.threads >= 1, ">= 1"),
            ("sample_every", self.sample_every >= 1, ">= 1"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise SimulatorError(f"{name} must be {rule}, got {getattr(self, name)}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise SimulatorError(f"unknown device {self.device!r}: use auto, cpu or cuda")
        if self.reward not in REWARDS:
            raise SimulatorError(f"unknown reward {self.reward!r}: use {' or '.join(REWARDS)}")
        if self.batch_size % self.num_minibatches:
            raise SimulatorError(
                f"batch_size {self.batch_size} is not a multiple of "
                f"num_minibatches {self.num_minibatches}"
            )

    @property
    def minibatch_size(self) -> int:
        """Episodes per minibatch."""
        return self.batch_size // self.num_minibatches

    @property
    def total_episodes(self) -> int:
        """Episodes generated over the whole run."""
        return self.steps * self.batch_size

    @property
    def reward_model(self) -> RewardModelConfig:
        """The learned reward model used when ``reward="learned"`` (on this run's
        reference model)."""
        return RewardModelConfig(pretrain=self.pretrain)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (the pretrain config nested)."""
        return dataclasses.asdict(self)
