"""Make the shipped evidence pack ``questions/evidence/<sweep>/`` from a simulator sweep.

    alignquiz sim sweep --out /tmp/sweep_default        # the real runs (minutes)
    python bench/make_evidence_pack.py /tmp/sweep_default [--out questions/evidence/beta-sweep]

The pack is what bank items show students and what ``check_evidence`` confirms claims
against (tests run it on the pack, so every claim is backed by real training)::

    summary.json        the sweep's summary, copied as is (one record per run)
    history/beta-B.json compact history of one run per beta (seed 1, every 5th step,
                        the metrics the figures plot)
    samples.json        sample sets that items show, under neutral names ("run-s")
    manifest.json       which run is behind each figure and sample set (instructors only)
    *.png               small figures (< 150 KB), runs labelled neutrally ("Run A"),
                        never with their beta or verdict

Student-facing text (captions, alt text) is written in the bank items, not here.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "questions" / "evidence" / "beta-sweep"
METRICS = ("env/reward_mean", "env/gold_mean", "objective/kl", "text/grammatical_frac",
           "text/repeat_rate")  # fmt: skip
EVERY = 5
SEED = 1

# figure -> runs it shows: (label students see, kl_coef). Instructors only.
FIGURES: dict[str, list[tuple[str, float]]] = {
    "run-a.png": [("Run A", 0.0)],
    "run-b.png": [("Run B", 3.0)],
    "runs-123.png": [("Run 1", 3.0), ("Run 2", 0.0), ("Run 3", 0.3)],
}
# sample set -> (kl_coef, steps shown, texts per step)
SAMPLES: dict[str, tuple[float, tuple[int, ...], int]] = {
    "run-s": (0.03, (1, 100, 300), 2),
}


README = """\
# Evidence pack: {name}

Made by `python bench/make_evidence_pack.py SWEEP_DIR` from a real `alignquiz sim sweep`
(betas {betas}; seeds {seeds}; {steps} PPO steps). Do not edit by hand; regenerate.

- `summary.json`: one record per run (final metrics, verdict). `alignquiz bank validate
  --evidence` (no folder: these shipped packs) checks every item's claims against it.
- `history/beta-B.json`: seed {seed} of each beta, every {every}th step, the plotted metrics.
- `samples.json`: sample sets that items show (`evidence.samples`).
- `*.png`: figures that items show (`evidence.figure`); runs are labelled neutrally.
- `manifest.json`: which run is behind each figure and sample set. Instructors only: it
  names the betas and verdicts that the questions ask students to find.
"""


def run_file(sweep: Path, kl_coef: float, seed: int) -> Path:
    return sweep / "runs" / f"beta-{kl_coef:g}-seed-{seed}.json"


def compact(run: dict) -> dict:
    history = run["history"]
    steps = [i + 1 for i in range(len(history)) if i == 0 or (i + 1) % EVERY == 0]
    return {
        "kl_coef": run["kl_coef"], "seed": run["seed"], "verdict": run["verdict"],
        "steps": steps,
        "metrics": {m: [round(history[s - 1][m], 4) for s in steps] for m in METRICS},
    }  # fmt: skip


def figure(runs: list[tuple[str, dict]]) -> bytes:
    """Four panels against step: proxy (and gold) reward, KL, grammatical fraction,
    repetition; one line per run, labelled only by its neutral name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9})
    fig, axes = plt.subplots(2, 2, figsize=(6.4, 4.2), dpi=90, constrained_layout=True)
    panels = [
        ("env/reward_mean", "reward-model score (proxy)", None),
        ("objective/kl", "KL to reference (nats)", None),
        ("text/grammatical_frac", "grammatical fraction", (0, 1.05)),
        ("text/repeat_rate", "repetition rate", (0, 1.0)),
    ]
    colors = ["#1f5fbf", "#d9480f", "#2b8a3e"]
    single = len(runs) == 1
    for ax, (metric, title, ylim) in zip(axes.flat, panels, strict=True):
        for (label, run), color in zip(runs, colors, strict=False):
            ax.plot(run["steps"], run["metrics"][metric], color=color, lw=1.4, label=label)
            if metric == "env/reward_mean" and single:
                ax.plot(run["steps"], run["metrics"]["env/gold_mean"], color="#868e96",
                        lw=1.2, ls="--", label="gold score (true)")  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("PPO step")
        top = max(v for _, r in runs for v in r["metrics"][metric])
        if metric == "env/reward_mean":  # a flat run must look flat, not zoomed-in noise
            ax.set_ylim(min(0.0, ax.get_ylim()[0]), max(5.0, 1.1 * top))
        if metric == "objective/kl":
            if single:
                ax.set_ylim(-0.1, max(2.0, 1.1 * top))
            else:
                ax.set_yscale("symlog", linthresh=1.0)
                ax.set_title(title + ", symlog scale")
        ax.grid(alpha=0.3)
        if ylim:
            ax.set_ylim(*ylim)
    if single or len(runs) > 1:
        axes.flat[0].legend(loc="best", fontsize=7)
    if single:
        fig.suptitle(runs[0][0], fontsize=10, fontweight="bold")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(colors=32)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def make_pack(sweep: Path, out: Path) -> dict[str, int]:
    """Write the pack; return {file: bytes}."""
    summary = json.loads((sweep / "summary.json").read_text())
    betas = sorted({r["kl_coef"] for r in summary})
    if out.exists():
        shutil.rmtree(out)
    (out / "history").mkdir(parents=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    histories = {}
    for beta in betas:
        run = json.loads(run_file(sweep, beta, SEED).read_text())
        histories[beta] = compact(run)
        (out / "history" / f"beta-{beta:g}.json").write_text(
            json.dumps(histories[beta], separators=(",", ":")) + "\n"
        )
    manifest: dict[str, dict] = {"figures": {}, "samples": {}}
    for name, runs in FIGURES.items():
        chosen = [(label, histories[beta]) for label, beta in runs]
        (out / name).write_bytes(figure(chosen))
        manifest["figures"][name] = [
            {"label": label, "kl_coef": beta, "seed": SEED, "verdict": histories[beta]["verdict"]}
            for label, beta in runs
        ]
    samples = {}
    for name, (beta, steps, per_step) in SAMPLES.items():
        run = json.loads(run_file(sweep, beta, SEED).read_text())
        by_step = {s["step"]: s["texts"] for s in run["samples"]}
        samples[name] = [{"step": s, "texts": by_step[s][:per_step]} for s in steps]
        manifest["samples"][name] = {"kl_coef": beta, "seed": SEED, "verdict": run["verdict"]}
    (out / "samples.json").write_text(json.dumps(samples, indent=1) + "\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (out / "README.md").write_text(README.format(
        name=out.name, betas=", ".join(f"{b:g}" for b in betas),
        seeds=", ".join(str(s) for s in sorted({r["seed"] for r in summary})),
        steps=len(json.loads(run_file(sweep, betas[0], SEED).read_text())["history"]),
        seed=SEED, every=EVERY))  # fmt: skip
    sizes = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*"))
             if p.is_file()}  # fmt: skip
    assert all(n < 150_000 for f, n in sizes.items() if f.endswith(".png")), sizes
    assert all(math.isfinite(v) for h in histories.values() for vs in h["metrics"].values()
               for v in vs)  # fmt: skip
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="folder written by `alignquiz sim sweep`")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sizes = make_pack(args.sweep, args.out)
    for name, size in sizes.items():
        print(f"{size / 1024:8.1f} KiB  {name}")
    print(f"{sum(sizes.values()) / 1024:8.1f} KiB  total in {args.out}")


if __name__ == "__main__":
    main()
