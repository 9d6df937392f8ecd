"""Sweeps: PPO runs over a grid of betas and seeds, resumable, with a summary.

Each finished run is written at once to ``DIR/runs/beta-<b>-seed-<s>.json``, so an
interrupted sweep keeps its finished runs and a rerun only does the missing ones.
``DIR/summary.json`` holds one record per run: ``kl_coef``, ``seed``, ``verdict``,
``seconds`` and the final metrics. Runs go to ``workers`` processes of one torch thread
each (one thread is fastest for a model this small).

>>> run_name(0.3, 2)
'beta-0.3-seed-2'
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.config import RunConfig
from simulator.errors import SimulatorError

__all__ = ["SweepConfig", "load_runs", "run_name", "run_sweep"]

Record = dict[str, Any]


@dataclass(frozen=True)
class SweepConfig:
    """A grid of runs that differ only in beta and seed."""

    kl_coefs: tuple[float, ...] = (0.0, 0.03, 0.3, 3.0)
    """The betas swept."""
    seeds: tuple[int, ...] = (1, 2, 3)
    """The seeds run at every beta."""
    base: RunConfig = RunConfig()
    """Everything else (its own ``kl_coef`` and ``seed`` are replaced)."""
    workers: int = 2
    """Processes running at once (each with ``base.threads`` torch threads)."""

    def __post_init__(self) -> None:
        if not self.kl_coefs or not self.seeds:
            raise SimulatorError("a sweep needs at least one kl_coef and one seed")
        if any(b < 0 for b in self.kl_coefs):
            raise SimulatorError(f"kl_coef must be >= 0, got {min(self.kl_coefs)}")
        if self.workers < 1:
            raise SimulatorError(f"workers must be >= 1, got {self.workers}")

    @property
    def runs(self) -> list[RunConfig]:
        """The config of every run, beta-major."""
        return [
            dataclasses.replace(self.base, kl_coef=b, seed=s)
            for b in self.kl_coefs
            for s in self.seeds
        ]


def run_name(kl_coef: float, seed: int) -> str:
    """The file stem of one run's record."""
    return f"beta-{kl_coef:g}-seed-{seed}"


def _run_one(config: RunConfig) -> Record:
    """Train one run and return its record (the history included), in a worker."""
    from simulator.train import train

    result = train(config)
    return {
        "kl_coef": config.kl_coef,
        "seed": config.seed,
        "verdict": result.verdict,
        "seconds": result.seconds,
        "final": result.final,
        **{k: v for k, v in result.to_dict().items() if k in ("config", "history", "samples")},
    }


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)  # atomic: an interrupted write leaves no half record


def load_runs(out: Path) -> dict[str, Record]:
    """The finished runs of a sweep folder, by run name."""
    runs = {}
    for path in sorted((out / "runs").glob("*.json")):
        try:
            runs[path.stem] = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # a run that never finished writing: it is redone
    return runs


def run_sweep(
    config: SweepConfig, out: Path, *, on_run: Callable[[Record], None] | None = None
) -> list[Record]:
    """Do the runs of ``config`` missing from ``out``; write and return the summary."""
    from simulator.pretrain import load_reference

    load_reference(config.base.pretrain)  # train it here once, not in every worker
    if config.base.reward == "learned":
        from simulator.reward_model import load_reward_model

        load_reward_model(config.base.reward_model)  # likewise
    (out / "runs").mkdir(parents=True, exist_ok=True)
    done = load_runs(out)
    for name, record in done.items():
        reward = record.get("config", {}).get("reward", config.base.reward)
        if reward != config.base.reward:
            raise SimulatorError(
                f"{out} holds run {name} with reward {reward!r}, not {config.base.reward!r}: "
                "sweep into another folder"
            )
    todo = [c for c in config.runs if run_name(c.kl_coef, c.seed) not in done]

    def finish(record: Record) -> None:
        name = run_name(record["kl_coef"], record["seed"])
        _write_json(out / "runs" / f"{name}.json", record)
        done[name] = record
        if on_run is not None:
            on_run(record)

    if config.workers == 1 or len(todo) <= 1:
        for run in todo:
            finish(_run_one(run))
    elif todo:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no fork of a torch parent
        with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
            for future in as_completed([pool.submit(_run_one, run) for run in todo]):
                finish(future.result())  # written as soon as it ends
    keep = ("kl_coef", "seed", "verdict", "seconds", "final")
    summary = [{k: done[run_name(c.kl_coef, c.seed)][k] for k in keep} for c in config.runs]
    _write_json(out / "summary.json", summary)
    return summary
