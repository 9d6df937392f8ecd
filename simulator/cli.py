"""The ``sim`` commands: ``pretrain`` the reference model, ``reward-model`` (train the
learned reward), ``run`` one PPO run, ``sweep``.

The root CLI mounts them with ``for c in simulator.cli.COMMANDS: root.add_command(c)``.
Importing this module loads neither torch nor transformers: the commands import them.
Errors the simulator raises on purpose derive from ``AssessmentError``; the root CLI
turns them into one line on stderr and exit code 2 (they are not caught here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from simulator.config import REWARDS, RunConfig

__all__ = ["COMMANDS", "sim"]


_D = RunConfig()  # the defaults, shown by --help


@click.group()
def sim() -> None:
    """The RLHF simulator: real PPO with a KL penalty on a tiny language model."""


def _echo_trained(what: str, path: Path, report: Any, as_json: bool, summary: str) -> None:
    """Where a trained (or cached) model is and how its training went: JSON or two lines."""
    import dataclasses

    if as_json:
        click.echo(json.dumps({"path": str(path), **dataclasses.asdict(report)}))
    else:
        click.echo(f"{what}: {path}\n  {summary}")


@sim.command()
@click.option("--force", is_flag=True, help="Retrain even if a cached model exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def pretrain(force: bool, as_json: bool) -> None:
    """Train (or find in the cache) the reference model."""
    from simulator.pretrain import PretrainConfig, load_reference, reference_path

    config = PretrainConfig()
    _, report = load_reference(config, force=force, progress=not as_json)
    _echo_trained(
        "reference model", reference_path(config), report, as_json,
        f"{report.grammatical_frac:.1%} grammatical tokens after {report.steps} steps "
        f"({report.seconds:.1f} s of training)",
    )  # fmt: skip


@sim.command("reward-model")
@click.option("--force", is_flag=True, help="Retrain even if a cached model exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reward_model(force: bool, as_json: bool) -> None:
    """Train (or find in the cache) the learned reward model (Bradley-Terry)."""
    from simulator.reward_model import load_reward_model, reward_model_path

    config = _D.reward_model
    _, report = load_reward_model(config, force=force, progress=not as_json)
    _echo_trained(
        "reward model", reward_model_path(config), report, as_json,
        f"held-out pairwise accuracy {report.eval_accuracy:.1%} on {report.eval_pairs} pairs "
        f"(train {report.train_accuracy:.1%} on {report.train_pairs}; {report.seconds:.1f} s)",
    )  # fmt: skip


@sim.command()
@click.option("--kl-coef", type=float, default=_D.kl_coef, show_default=True, help="beta.")
@click.option("--adaptive", is_flag=True, help="Adapt beta (Ziegler et al. 2019).")
@click.option(
    "--target",
    type=float,
    default=_D.kl_target,
    show_default=True,
    help="Target KL of the adaptive controller (nats per response).",
)
@click.option(
    "--horizon",
    type=float,
    default=_D.kl_horizon,
    show_default=True,
    help="Horizon of the adaptive controller (episodes).",
)
@click.option(
    "--reward",
    type=click.Choice(REWARDS),
    default=_D.reward,
    show_default=True,
    help="The score PPO maximises.",
)
@click.option("--steps", type=int, default=_D.steps, show_default=True)
@click.option("--batch-size", type=int, default=_D.batch_size, show_default=True)
@click.option("--seed", type=int, default=_D.seed, show_default=True)
@click.option("--device", default=_D.device, show_default=True, help="auto, cpu or cuda.")
@click.option("--threads", type=int, default=_D.threads, show_default=True, help="CPU threads.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for run.json (metrics, samples), evidence.json (and adaptive.png).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final record as JSON.")
def run(
    kl_coef: float, adaptive: bool, target: float, horizon: float, reward: str,
    steps: int, batch_size: int, seed: int, device: str, threads: int,
    out: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """One PPO run; prints the verdict and the final metrics."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from simulator.pretrain import load_reference
    from simulator.train import train

    config = RunConfig(
        kl_coef=kl_coef, adaptive_kl=adaptive, kl_target=target, kl_horizon=horizon,
        reward=reward, steps=steps, batch_size=batch_size, seed=seed, device=device,
        threads=threads,
    )  # fmt: skip
    load_reference(config.pretrain, progress=not as_json)  # its own bar, before PPO's
    if reward == "learned":
        from simulator.reward_model import load_reward_model

        load_reward_model(config.reward_model, progress=not as_json)  # its own bar too
    columns = (
        TextColumn("PPO"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, disable=as_json, transient=True) as bar:
        task = bar.add_task("run", total=steps, info="")

        def on_step(step: int, metrics: dict[str, float]) -> None:
            info = (f"reward {metrics['env/reward_mean']:.2f}  KL {metrics['objective/kl']:.2f}"
                    f"  grammatical {metrics['text/grammatical_frac']:.0%}")  # fmt: skip
            bar.update(task, completed=step, info=info)

        result = train(config, on_step=on_step)
    record = {"kl_coef": kl_coef, "seed": seed, "verdict": result.verdict,
              "seconds": result.seconds, "final": result.final}  # fmt: skip
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps(result.to_dict(), indent=1))
        (out / "evidence.json").write_text(result.to_evidence().model_dump_json(indent=1))
        if adaptive:
            from simulator.plots import plot_adaptive

            plot_adaptive(result.to_dict(), out / "adaptive.png")
    if as_json:
        click.echo(json.dumps(record))
        return
    click.echo(f"verdict: {result.verdict}  ({steps} steps, {result.seconds:.1f} s)")
    for name, value in result.final.items():
        click.echo(f"  {name:<24} {value:9.3f}")
    click.echo("samples:")
    for text in result.samples[-1][1]:
        click.echo(f"  {text}")


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers") from None


@sim.command()
@click.option(
    "--kl-coef",
    "kl_coefs",
    default="0,0.03,0.3,3",
    show_default=True,
    help="Comma-separated betas.",
)
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds 1..N per beta.")
@click.option(
    "--reward",
    type=click.Choice(REWARDS),
    default=_D.reward,
    show_default=True,
    help="The score PPO maximises.",
)
@click.option("--steps", type=int, default=_D.steps, show_default=True)
@click.option("--batch-size", type=int, default=_D.batch_size, show_default=True)
@click.option(
    "--workers",
    type=int,
    default=2,
    show_default=True,
    help="Runs at once (one torch thread each).",
)
@click.option("--device", default=_D.device, show_default=True, help="auto, cpu or cuda.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Sweep folder: runs/, summary.json, plots; an existing one is resumed.",
)
@click.option("--no-plots", is_flag=True, help="Skip the matplotlib figures.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json's records.")
def sweep(
    kl_coefs: str, seeds: int, reward: str, steps: int, batch_size: int, workers: int, device: str,
    out: Path, no_plots: bool, as_json: bool,
) -> None:  # fmt: skip
    """Runs over betas and seeds; resumes an interrupted sweep."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from simulator.errors import SimulatorError
    from simulator.pretrain import load_reference
    from simulator.sweep import SweepConfig, load_runs, run_sweep

    if seeds < 1:
        raise SimulatorError(f"seeds must be >= 1, got {seeds}")
    base = RunConfig(reward=reward, steps=steps, batch_size=batch_size, device=device)
    config = SweepConfig(_floats(kl_coefs), tuple(range(1, seeds + 1)), base, workers)
    load_reference(base.pretrain, progress=not as_json)
    if reward == "learned":
        from simulator.reward_model import load_reward_model

        load_reward_model(base.reward_model, progress=not as_json)
    out.mkdir(parents=True, exist_ok=True)
    already = len(load_runs(out))
    columns = (
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, disable=as_json, transient=True) as bar:
        task = bar.add_task("sweep", total=len(config.runs), completed=already, info="")

        def on_run(record: dict[str, Any]) -> None:
            info = f"beta {record['kl_coef']:g} seed {record['seed']}: {record['verdict']}"
            bar.update(task, advance=1, info=info)

        summary = run_sweep(config, out, on_run=on_run)
    if not no_plots:
        from simulator.plots import plot_sweep

        plot_sweep(out)
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"{'beta':>6} {'seed':>4}  {'verdict':<15} {'reward':>7} {'gold':>7} "
               f"{'KL':>8} {'gramm.':>6} {'repeat':>6}")  # fmt: skip
    for r in summary:
        f = r["final"]
        click.echo(
            f"{r['kl_coef']:>6g} {r['seed']:>4}  {r['verdict']:<15} "
            f"{f['env/reward_mean']:7.2f} {f['env/gold_mean']:7.2f} "
            f"{f['objective/kl']:8.2f} {f['text/grammatical_frac']:6.2f} "
            f"{f['text/repeat_rate']:6.2f}"
        )
    click.echo(f"summary: {out / 'summary.json'}")


COMMANDS: list[click.Command] = [sim]
"""The commands the root CLI mounts."""
