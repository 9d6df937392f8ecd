"""The run config: frozen, validated, bad values are one-line AssessmentErrors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from questions.errors import AssessmentError
from simulator.config import RunConfig
from simulator.errors import SimulatorError


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kl_coef": -0.1}, "kl_coef must be >= 0, got -0.1"),
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"reward": "vibes"}, "unknown reward 'vibes': use proxy or gold"),
        ({"batch_size": 10, "num_minibatches": 4}, "not a multiple of num_minibatches"),
        ({"lam": 1.5}, "lam must be in [0, 1], got 1.5"),
        ({"kl_target": 0.0}, "kl_target must be > 0"),
    ],
)
def test_bad_values_are_one_line_errors(overrides: dict, message: str) -> None:
    with pytest.raises(SimulatorError) as err:
        RunConfig(**overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, AssessmentError)


def test_config_is_frozen() -> None:
    config = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kl_coef = 1.0  # type: ignore[misc]


def test_derived_values() -> None:
    config = RunConfig(batch_size=32, num_minibatches=2, steps=10)
    assert config.minibatch_size == 16
    assert config.total_episodes == 320


def test_every_field_is_documented() -> None:
    """A docstring under every field, as the design asks (read from the source)."""
    import inspect

    import simulator.config as module

    source = inspect.getsource(module.RunConfig)
    lines = source.splitlines()
    for f in dataclasses.fields(RunConfig):
        (i,) = [n for n, line in enumerate(lines) if line.strip().startswith(f"{f.name}:")]
        assert lines[i + 1].strip().startswith('"""'), f.name


def test_to_dict_is_json() -> None:
    assert json.loads(json.dumps(RunConfig().to_dict()))["kl_coef"] == RunConfig().kl_coef
