"""Figures of a sweep (matplotlib, Agg): what the three beta regimes look like.

``plot_sweep(DIR)`` reads ``DIR/runs/*.json`` and writes

* ``curves.png``: proxy reward, KL (log scale), grammatical fraction and repetition
  against step, one line per beta (the mean over seeds);
* ``reward_vs_kl.png``: proxy and gold reward against KL, one line per beta;
* ``samples.md``: a table of the last sample text of every run;

and ``plot_adaptive(run, path)`` draws beta and KL over time of one adaptive run.

>>> samples_table([{"kl_coef": 0.0, "seed": 1, "verdict": "stuck",
...                 "samples": [{"step": 3, "texts": ["the dog runs."]}]}]).splitlines()[2]
'| 0 | 1 | stuck | the dog runs. |'
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.sweep import load_runs

__all__ = ["mean_curves", "plot_adaptive", "plot_sweep", "samples_table"]

Record = dict[str, Any]
PANELS = (
    ("env/reward_mean", "proxy reward (positive words)", "linear"),
    ("objective/kl_exact", "KL to reference (nats, log)", "log"),
    ("text/grammatical_frac", "grammatical fraction", "linear"),
    ("text/repeat_rate", "repeat rate", "linear"),
)


def mean_curves(records: Sequence[Record], metric: str) -> dict[float, list[float]]:
    """Per beta, the metric at every step, averaged over the seeds.

    >>> runs = [{"kl_coef": 0.3, "history": [{"m": 1.0}, {"m": 2.0}]},
    ...         {"kl_coef": 0.3, "history": [{"m": 3.0}, {"m": 4.0}]}]
    >>> mean_curves(runs, "m")
    {0.3: [2.0, 3.0]}
    """
    by_beta: dict[float, list[list[float]]] = defaultdict(list)
    for record in records:
        by_beta[record["kl_coef"]].append([m[metric] for m in record["history"]])
    return {
        beta: [statistics.fmean(values) for values in zip(*curves, strict=False)]
        for beta, curves in sorted(by_beta.items())
    }


def samples_table(records: Sequence[Record]) -> str:
    """A Markdown table: beta, seed, verdict and the last sample text of every run."""
    lines = ["| beta | seed | verdict | last sample |", "|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["kl_coef"], r["seed"])):
        text = r["samples"][-1]["texts"][0] if r["samples"] else ""
        lines.append(f"| {r['kl_coef']:g} | {r['seed']} | {r['verdict']} | {text} |")
    return "\n".join(lines) + "\n"


def plot_sweep(out: Path) -> list[Path]:
    """Write the figures and the samples table of the sweep in ``out``; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = list(load_runs(out).values())
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, (metric, title, scale) in zip(axes.flat, PANELS, strict=True):
        for beta, curve in mean_curves(records, metric).items():
            if scale == "log":
                curve = [max(v, 1e-3) for v in curve]
            ax.plot(range(1, len(curve) + 1), curve, label=f"beta = {beta:g}")
        ax.set_title(title)
        ax.set_yscale(scale)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("PPO step")
    axes[0][0].legend()
    fig.tight_layout()
    curves_path = out / "curves.png"
    fig.savefig(curves_path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    kls = mean_curves(records, "objective/kl_exact")
    for name, style in (("env/reward_mean", "-"), ("env/gold_mean", "--")):
        for i, (beta, curve) in enumerate(mean_curves(records, name).items()):
            color = f"C{i}"
            label = f"{'proxy' if 'reward' in name else 'gold'}, beta = {beta:g}"
            ax.plot([max(k, 1e-3) for k in kls[beta]], curve, style, color=color, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("KL to reference (nats)")
    ax.set_ylabel("reward per response")
    ax.set_title("proxy (solid) and gold (dashed) against KL")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    kl_path = out / "reward_vs_kl.png"
    fig.savefig(kl_path, dpi=110)
    plt.close(fig)

    samples_path = out / "samples.md"
    samples_path.write_text(samples_table(records))
    return [curves_path, kl_path, samples_path]


def plot_adaptive(run: Record, path: Path) -> Path:
    """beta and KL against step for one run (``run.json``'s dict), target dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = run["history"]
    steps = range(1, len(history) + 1)
    fig, ax_beta = plt.subplots(figsize=(7, 4))
    ax_beta.plot(steps, [m["objective/kl_coef"] for m in history], color="C0")
    ax_beta.set_yscale("log")
    ax_beta.set_ylabel("beta (kl_coef, log)", color="C0")
    ax_beta.set_xlabel("PPO step")
    ax_kl = ax_beta.twinx()
    ax_kl.plot(steps, [max(m["objective/kl"], 1e-3) for m in history], color="C3")
    ax_kl.axhline(run["config"]["kl_target"], color="C3", linestyle="--", linewidth=1)
    ax_kl.set_yscale("log")
    ax_kl.set_ylabel("KL (nats, log); target dashed", color="C3")
    ax_beta.set_title("adaptive KL controller")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
