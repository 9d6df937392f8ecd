"""Real PPO on the real tiny model: short runs that show the three beta regimes.

The full-length runs (300 steps, 3 seeds per beta) are the bench's; these are short
enough for CI (a few seconds each on 2 CPU cores) and use a faster learning rate.
"""

from __future__ import annotations

import json

import pytest

from questions.models import Evidence
from simulator.config import RunConfig
from simulator.errors import SimulatorError
from simulator.train import METRICS, train

TRL_METRICS = (
    "env/reward_mean",
    "env/gold_mean",
    "objective/kl",
    "objective/kl_exact",
    "objective/kl_coef",
    "ppo/policy/clipfrac",
    "ppo/policy/approxkl",
    "ppo/val/var_explained",
    "text/grammatical_frac",
    "text/repeat_rate",
    "text/distinct_2",
)
SHORT = {"steps": 40, "learning_rate": 1e-3, "device": "cpu", "sample_every": 20}
BETAS = (0.0, 0.3, 3.0)


@pytest.fixture(scope="module")
def runs(reference):
    """One short run per beta, shared by the tests of this module."""
    return {beta: train(RunConfig(kl_coef=beta, seed=1, **SHORT)) for beta in BETAS}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("beta", "expected"), [(0.0, "reward_hacking"), (0.3, "healthy"), (3.0, "stuck")]
)
def test_three_regimes(runs, beta: float, expected: str) -> None:
    result = runs[beta]
    assert result.verdict == expected, (result.final, result.samples[-1])


@pytest.mark.slow
def test_no_penalty_hacks_the_proxy(runs) -> None:
    start, final = runs[0.0].history[0], runs[0.0].final
    assert final["env/reward_mean"] > start["env/reward_mean"] + 5  # proxy up
    assert final["env/gold_mean"] < start["env/gold_mean"] - 5  # gold down
    assert final["text/grammatical_frac"] < 0.3
    assert final["text/repeat_rate"] > 0.2


@pytest.mark.slow
def test_healthy_run_improves_and_stays_fluent(runs) -> None:
    start, final = runs[0.3].history[0], runs[0.3].final
    assert final["env/reward_mean"] > start["env/reward_mean"] + 1
    assert final["env/gold_mean"] > start["env/gold_mean"]
    assert final["text/grammatical_frac"] >= 0.9


@pytest.mark.slow
def test_kl_falls_with_beta(runs) -> None:
    kls = [runs[beta].final["objective/kl"] for beta in BETAS]
    assert kls == sorted(kls, reverse=True)
    assert kls[0] > 20 and kls[-1] < 1.0
    exact = [runs[beta].final["objective/kl_exact"] for beta in BETAS]
    assert exact == sorted(exact, reverse=True)


@pytest.mark.slow
def test_metrics_samples_and_evidence(runs) -> None:
    result = runs[0.3]
    assert len(result.history) == SHORT["steps"]
    for name in TRL_METRICS:
        assert all(name in m for m in result.history), name
    assert set(result.history[0]) == set(METRICS)  # every metric documented
    assert {m["objective/kl_coef"] for m in result.history} == {0.3}  # a fixed beta
    assert all(m["objective/kl_exact"] >= -1e-6 for m in result.history)
    assert [step for step, _ in result.samples] == [1, 20, 40]
    evidence = result.to_evidence()
    assert isinstance(evidence, Evidence)
    assert evidence.verdict == result.verdict and evidence.kl_coef == 0.3
    assert json.loads(json.dumps(result.to_dict()))["verdict"] == result.verdict


@pytest.mark.slow
def test_same_seed_same_numbers(reference) -> None:
    config = RunConfig(steps=3, batch_size=16, device="cpu", seed=5)
    first, again = train(config), train(config)
    assert first.history == again.history
    assert first.samples == again.samples
    other = train(RunConfig(steps=3, batch_size=16, device="cpu", seed=6))
    assert other.history != first.history


@pytest.mark.slow
def test_adaptive_controller_raises_a_beta_started_far_too_low(reference) -> None:
    config = RunConfig(
        kl_coef=0.001, adaptive_kl=True, kl_target=1.0, kl_horizon=64,
        steps=20, batch_size=32, learning_rate=1e-3, device="cpu",
    )  # fmt: skip
    history = train(config).history
    betas = [m["objective/kl_coef"] for m in history]
    assert betas[0] == 0.001
    assert betas[-1] > 2 * betas[0]
    for before, after, metrics in zip(betas, betas[1:], history, strict=False):
        # beta moves up exactly when the rollout's KL was above the target
        assert (after > before) == (metrics["objective/kl"] > config.kl_target)


def test_unknown_device_is_an_error() -> None:
    with pytest.raises(SimulatorError, match="unknown device 'tpu'"):
        RunConfig(device="tpu")


def test_thread_count_is_restored(reference) -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        train(RunConfig(steps=1, batch_size=4, num_minibatches=1, device="cpu", threads=1))
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
