"""The learned reward model: Bradley-Terry on gold-labelled pairs of the reference's
samples; accurate on held-out pairs, cached, exploitable off its training distribution,
and usable as PPO's reward."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import sim
from simulator.config import RunConfig
from simulator.errors import ModelCacheError
from simulator.pretrain import PretrainConfig, reference_path
from simulator.reward import gold_score
from simulator.reward_model import RewardModelConfig, load_reward_model, reward_model_path
from simulator.tokenizer import Tokenizer
from simulator.train import METRICS, train


def _scores(model, texts: list[str]) -> list[float]:
    import torch

    tokenizer = Tokenizer()
    ids = torch.tensor([[tokenizer.bos_id, *tokenizer.encode(t)] for t in texts])
    with torch.no_grad():
        return model(ids).tolist()


@pytest.mark.slow
def test_beats_chance_clearly_on_held_out_pairs(learned_reward) -> None:
    _, report = learned_reward
    assert report.eval_pairs >= 300
    assert report.eval_accuracy >= 0.75
    assert report.train_accuracy >= 0.75


@pytest.mark.slow
def test_cache_is_reused(learned_reward) -> None:
    model, report = learned_reward
    path = reward_model_path(RewardModelConfig())
    assert path.parent == reference_path(PretrainConfig()).parent  # the same cache folder
    assert (path / "model.safetensors").exists() and (path / "meta.json").exists()
    again, report_again = load_reward_model(train_if_missing=False)  # no training allowed
    assert report_again == report
    texts = ["the good dog is happy . a cat sleeps . the big bird sees my"]
    assert _scores(again, texts) == pytest.approx(_scores(model, texts), abs=1e-5)


def test_cache_key_hashes_the_config() -> None:
    assert RewardModelConfig().key == RewardModelConfig().key
    assert RewardModelConfig(seed=1).key != RewardModelConfig().key
    assert RewardModelConfig(pretrain=PretrainConfig(seed=1)).key != RewardModelConfig().key
    assert RewardModelConfig(threads=2).key == RewardModelConfig().key  # speed only
    assert RunConfig().reward_model == RewardModelConfig()


def test_missing_model_is_an_error_when_training_is_off(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALIGNQUIZ_CACHE", str(tmp_path))
    with pytest.raises(ModelCacheError, match="no cached reward model"):
        load_reward_model(train_if_missing=False)


@pytest.mark.slow
def test_corrupt_cache_is_an_error(learned_reward, monkeypatch, tmp_path: Path) -> None:
    config = RewardModelConfig()
    reference = reference_path(config.pretrain)
    shutil.copytree(reference, tmp_path / reference.name)
    copy = tmp_path / reward_model_path(config).name
    shutil.copytree(reward_model_path(config), copy)
    (copy / "model.safetensors").write_bytes(b"not a model")
    monkeypatch.setenv("ALIGNQUIZ_CACHE", str(tmp_path))
    with pytest.raises(ModelCacheError, match="cached reward model is corrupt"):
        load_reward_model(config, train_if_missing=False)


@pytest.mark.slow
def test_it_ranks_fluent_text_by_gold_but_misses_degeneration(learned_reward) -> None:
    model, _ = learned_reward
    fluent = [
        "the good dog is happy . a kind cat sees the lovely bird . the big",
        "the sad dog sleeps . the cat sees a dog . the big cat is cruel",
    ]
    assert gold_score(fluent[0].split()) > gold_score(fluent[1].split())
    good, plain = _scores(model, fluent)
    assert good > plain  # in distribution it agrees with gold
    hacked = "good happy kind lovely bright great nice warm " * 2
    assert gold_score(hacked.split()) == -16.0
    (hacked_score,) = _scores(model, [hacked.strip()])
    assert hacked_score > good  # off distribution it prefers what gold punishes most


@pytest.mark.slow
def test_ppo_optimises_the_learned_reward(learned_reward) -> None:
    config = RunConfig(reward="learned", steps=4, batch_size=16, device="cpu", sample_every=2)
    result = train(config)
    assert len(result.history) == 4 and set(result.history[0]) == set(METRICS)
    first = result.history[0]
    # the score PPO sees is the reward model's, not the proxy; gold is tracked apart
    assert first["env/score_mean"] != first["env/reward_mean"]
    assert first["env/score_mean"] != first["env/gold_mean"]
    assert result.verdict in {"reward_hacking", "healthy", "stuck"}
    assert result.to_dict()["config"]["reward"] == "learned"


@pytest.mark.slow
def test_cli_runs_with_the_learned_reward(learned_reward, tmp_path: Path) -> None:
    import json

    args = ["run", "--reward", "learned", "--steps", "2", "--batch-size", "8",
            "--device", "cpu", "--json", "--out", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(sim, args)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run.json").read_text())["config"]["reward"] == "learned"
    shown = CliRunner().invoke(sim, ["reward-model", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["eval_accuracy"] >= 0.75


@pytest.mark.slow
def test_a_sweep_folder_keeps_one_reward(learned_reward, tmp_path: Path) -> None:
    from simulator.errors import SimulatorError
    from simulator.sweep import SweepConfig, run_sweep

    tiny = RunConfig(steps=1, batch_size=4, num_minibatches=1, device="cpu")
    run_sweep(SweepConfig((0.0,), (1,), tiny, workers=1), tmp_path)
    learned = SweepConfig((0.0,), (1,), dataclasses.replace(tiny, reward="learned"), workers=1)
    with pytest.raises(SimulatorError, match="with reward 'proxy', not 'learned'"):
        run_sweep(learned, tmp_path)
