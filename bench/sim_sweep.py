"""Benchmark: the default sweep (4 betas x 3 seeds x 300 steps), with the proxy reward
and with the learned reward model, and a table of final metrics per beta with verdicts.

    python bench/sim_sweep.py [--rewards proxy,learned] [--kl-coef 0,0.03,0.3,3]
                              [--seeds 3] [--steps 300] [--workers 2] [--out bench/out/sim]

Each reward's sweep goes to ``OUT/<reward>/`` (resumed when rerun: delete it to time
afresh). Prints the time to load or train the reference and the reward model, the
reward model's held-out pairwise accuracy, each sweep's wall time, and one row per beta
(the mean over seeds, start -> final for the optimised score and gold) with the verdicts.
Targets (issue 5, 2 cores): one 300-step run <= 60 s; the default sweep <= 10 minutes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def _row(records: list[dict], beta: float) -> str:
    runs = [r for r in records if r["kl_coef"] == beta]

    def mean(key: str, where: str = "final") -> float:
        return statistics.fmean(r[where][key] for r in runs)

    verdicts = ",".join(sorted({r["verdict"] for r in runs}))
    return (
        f"{beta:>6g} {len(runs):>3} "
        f"{mean('env/score_mean', 'start'):7.2f} -> {mean('env/score_mean'):6.2f} "
        f"{mean('env/gold_mean', 'start'):7.2f} -> {mean('env/gold_mean'):6.2f} "
        f"{mean('env/reward_mean'):7.2f} {mean('objective/kl'):8.2f} "
        f"{mean('text/grammatical_frac'):6.2f} {mean('text/repeat_rate'):6.2f} "
        f"{statistics.fmean(r['seconds'] for r in runs):6.1f}  {verdicts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rewards", default="proxy,learned")
    parser.add_argument("--kl-coef", default="0,0.03,0.3,3")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("bench/out/sim"))
    args = parser.parse_args()

    import json

    from simulator.config import RunConfig
    from simulator.pretrain import load_reference
    from simulator.reward_model import load_reward_model
    from simulator.sweep import SweepConfig, run_name, run_sweep

    betas = tuple(float(b) for b in args.kl_coef.split(","))
    seeds = tuple(range(1, args.seeds + 1))
    start = time.perf_counter()
    _, ref_report = load_reference(progress=True)
    print(f"reference: {time.perf_counter() - start:.1f} s to load or train "
          f"({ref_report.seconds:.1f} s when trained), "
          f"{ref_report.grammatical_frac:.1%} grammatical")  # fmt: skip

    for reward in args.rewards.split(","):
        base = RunConfig(reward=reward, steps=args.steps, device=args.device)
        if reward == "learned":
            start = time.perf_counter()
            _, rm_report = load_reward_model(base.reward_model, progress=True)
            print(f"reward model: {time.perf_counter() - start:.1f} s to load or train "
                  f"({rm_report.seconds:.1f} s when trained); held-out pairwise accuracy "
                  f"{rm_report.eval_accuracy:.3f} on {rm_report.eval_pairs} pairs, "
                  f"train {rm_report.train_accuracy:.3f} on {rm_report.train_pairs}")  # fmt: skip
        config = SweepConfig(betas, seeds, base, args.workers)
        out = args.out / reward
        start = time.perf_counter()
        run_sweep(config, out)
        wall = time.perf_counter() - start
        records = []
        for run in config.runs:
            path = out / "runs" / f"{run_name(run.kl_coef, run.seed)}.json"
            record = json.loads(path.read_text())
            record["start"] = record["history"][0]
            records.append(record)
        print(f"\nreward={reward}: {len(records)} runs x {args.steps} steps, {wall:.1f} s "
              f"wall ({args.workers} workers; runs already in {out} are reused)")  # fmt: skip
        print(f"{'beta':>6} {'n':>3} {'score start->final':>17} {'gold start->final':>17} "
              f"{'proxy':>7} {'KL':>8} {'gramm.':>6} {'repeat':>6} {'s/run':>6}  "
              "verdicts")  # fmt: skip
        for beta in betas:
            print(_row(records, beta))


if __name__ == "__main__":
    main()
