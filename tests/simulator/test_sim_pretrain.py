"""The reference model: fluent, cached under a content hash, corrupt caches reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulator.cache import cache_dir
from simulator.errors import ModelCacheError, SimulatorError
from simulator.pretrain import (
    PretrainConfig,
    load_reference,
    pretrain,
    reference_path,
    sample_fluency,
)


def test_reference_writes_grammatical_text(reference) -> None:
    model, report = reference
    assert report.grammatical_frac >= 0.95
    assert sample_fluency(model, n=512, length=16, seed=12345) >= 0.95


def test_reference_is_tiny(reference) -> None:
    model, _ = reference
    assert model.config.n_layer == 2
    assert model.config.n_embd == 64
    assert sum(p.numel() for p in model.parameters()) < 200_000


def test_cache_key_hashes_the_config() -> None:
    assert PretrainConfig().key == PretrainConfig().key
    assert PretrainConfig(seed=1).key != PretrainConfig().key
    assert PretrainConfig(n_embd=32).key != PretrainConfig().key
    assert PretrainConfig(threads=2).key == PretrainConfig().key  # speed only


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ALIGNQUIZ_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "alignquiz"
    monkeypatch.setenv("ALIGNQUIZ_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    assert reference_path(PretrainConfig()).parent == tmp_path / "mine"


def test_missing_model_is_an_error_when_training_is_off(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALIGNQUIZ_CACHE", str(tmp_path))
    with pytest.raises(ModelCacheError, match="alignquiz sim pretrain"):
        load_reference(train_if_missing=False)


@pytest.mark.parametrize("damage", ["truncate", "delete_meta", "garbage_config"])
def test_corrupt_cache_is_a_one_line_error(reference, monkeypatch, tmp_path, damage) -> None:
    source = reference_path(PretrainConfig())
    monkeypatch.setenv("ALIGNQUIZ_CACHE", str(tmp_path))
    target = reference_path(PretrainConfig())
    shutil.copytree(source, target)
    if damage == "truncate":
        weights = next(target.glob("*.safetensors"))
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "delete_meta":
        (target / "meta.json").unlink()
    else:
        (target / "config.json").write_text("{not json")
    with pytest.raises(ModelCacheError) as err:
        load_reference()
    assert "\n" not in str(err.value)
    assert str(target) in str(err.value)


def test_cached_copy_loads_the_same_weights(reference, monkeypatch, tmp_path) -> None:
    import torch

    model, _ = reference
    source = reference_path(PretrainConfig())
    monkeypatch.setenv("ALIGNQUIZ_CACHE", str(tmp_path))
    shutil.copytree(source, reference_path(PretrainConfig()))
    again, _ = load_reference(train_if_missing=False)
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)


def test_pretraining_that_misses_its_target_is_an_error() -> None:
    config = PretrainConfig(max_steps=4, eval_every=2, eval_samples=8, n_sequences=64)
    with pytest.raises(SimulatorError, match="reached only"):
        pretrain(config)
