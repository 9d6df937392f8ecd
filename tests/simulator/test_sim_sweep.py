"""Sweeps: one record per run, resumable after an interruption, plots written."""

from __future__ import annotations

import json

import pytest

from simulator.config import RunConfig
from simulator.errors import SimulatorError
from simulator.sweep import SweepConfig, load_runs, run_sweep

TINY = RunConfig(steps=2, batch_size=8, device="cpu", sample_every=1)


@pytest.fixture(scope="module")
def swept(reference, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    config = SweepConfig(kl_coefs=(0.0, 3.0), seeds=(1, 2), base=TINY, workers=1)
    return config, out, run_sweep(config, out)


@pytest.mark.slow
def test_summary_has_one_record_per_run(swept) -> None:
    config, out, summary = swept
    assert [(r["kl_coef"], r["seed"]) for r in summary] == [(0.0, 1), (0.0, 2), (3.0, 1), (3.0, 2)]
    assert json.loads((out / "summary.json").read_text()) == summary
    for record in summary:
        assert record["verdict"] in {"reward_hacking", "healthy", "stuck"}
        assert "objective/kl" in record["final"]


@pytest.mark.slow
def test_an_interrupted_sweep_resumes(swept) -> None:
    config, out, summary = swept
    (out / "runs" / "beta-3-seed-2.json").unlink()  # as if killed before this run ended
    (out / "runs" / "beta-0-seed-1.json").write_text('{"kl_coef": 0')  # killed mid-write
    redone = []
    again = run_sweep(config, out, on_run=redone.append)
    assert sorted((r["kl_coef"], r["seed"]) for r in redone) == [(0.0, 1), (3.0, 2)]

    def numbers(records):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert numbers(again) == numbers(summary)  # same seeds, same numbers
    assert len(load_runs(out)) == 4


@pytest.mark.slow
def test_plots_are_written(swept) -> None:
    from simulator.plots import plot_sweep

    _, out, _ = swept
    paths = plot_sweep(out)
    assert [p.name for p in paths] == ["curves.png", "reward_vs_kl.png", "samples.md"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 3 | 2 |" in paths[2].read_text()


def test_bad_sweeps_are_errors() -> None:
    with pytest.raises(SimulatorError, match="kl_coef must be >= 0"):
        SweepConfig(kl_coefs=(0.3, -1.0))
    with pytest.raises(SimulatorError, match="at least one"):
        SweepConfig(seeds=())
