"""Fixtures of the simulator tests: the reference model, made once per session.

The model comes from the user cache (``$ALIGNQUIZ_CACHE`` or ``~/.cache/alignquiz``),
keyed by a content hash, so a second session reuses it; a fresh machine trains it once
(about 30 s on 2 CPU cores).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def reference():
    """The pretrained reference model and its report."""
    from simulator.pretrain import PretrainConfig, load_reference

    return load_reference(PretrainConfig())


@pytest.fixture(scope="session")
def learned_reward(reference):
    """The learned (Bradley-Terry) reward model and its report, from the same cache
    (trained on first use: about 15 s on 2 CPU cores)."""
    from simulator.reward_model import RewardModelConfig, load_reward_model

    return load_reward_model(RewardModelConfig())
