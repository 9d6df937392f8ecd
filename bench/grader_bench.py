"""Benchmark the essay grader against human graders, and its speed.

    python bench/grader_bench.py [--data ../shared/benchmarks] [--limit N] [--threads 1]

- Mohler v2.0 (zero-shot: nothing here is fitted on Mohler): Pearson r and Spearman rho
  of our generic-mode score against ``score_avg``; RMSE of ``5 * score`` and of a linear
  map fitted with cross-validation grouped by question (never on the question scored).
- SemEval-2013 Task 7, 3-way, every test split: macro-F1 and the recall of
  ``contradictory``. Our verdicts map ``partially_correct`` to ``incorrect``. Also the
  accuracy of all verdicts and of those not flagged for a human's review (what a teacher
  who reviews the flagged ones leaves to the grader; every ``contradictory`` verdict is
  flagged, so a macro-F1 of the rest would mean little).
- Speed: model load, essays per second in a batch (the seed essay, every check), the
  latency of one essay graded alone (p50, p95), and 1,000 essays through one
  ``alignquiz grade essays`` process, model load included.

Generic mode (Mohler, SemEval) uses the pair classifier for its verdicts
(grader/models/pair, trained by bench/train_pair.py on SemEval's training splits only).

Prints one table with the anchors of issue 4 beside our numbers.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ANCHORS = {
    "mohler r": "0.49 plain cosine / 0.597 human-human / goal >= 0.60",
    "sciEntsBank unseen-answers": "F1 0.47, contra 0.16 / goal F1 >= 0.66, contra >= 0.5",
    "beetle unseen-answers": "F1 0.50, contra 0.36 / goal F1 >= 0.68, contra >= 0.5",
    "unseen-questions": "goal F1 >= 0.56, contra >= 0.5",
    "speed": "goal >= 100 essays/s, p95 <= 100 ms, 1,000 in <= 15 s with load",
}


def mohler(data: Path, limit: int | None):
    import numpy as np
    from scipy.stats import pearsonr, spearmanr

    from grader.essay import EssayGrader, EssayTask

    rows = list(csv.DictReader((data / "mohler" / "mohler_dataset_edited.csv").open()))
    if limit:
        rows = random.Random(0).sample(rows, min(limit, len(rows)))
    tasks = {r["id"]: EssayTask.generic(r["question"], [r["desired_answer"]]) for r in rows}
    results = EssayGrader().grade_many([(tasks[r["id"]], r["student_answer"]) for r in rows])
    pred = np.array([r.score for r in results])
    gold = np.array([float(r["score_avg"]) for r in rows])
    groups = np.array([r["id"] for r in rows])
    calibrated = np.empty_like(pred)
    for q in np.unique(groups):  # leave one question out: never fit on the question scored
        train = groups != q
        slope, intercept = np.polyfit(pred[train], gold[train], 1)
        calibrated[~train] = slope * pred[~train] + intercept
    rmse = lambda p: float(np.sqrt(np.mean((p - gold) ** 2)))  # noqa: E731
    return {
        "n": len(rows),
        "pearson": float(pearsonr(pred, gold)[0]),
        "spearman": float(spearmanr(pred, gold)[0]),
        "rmse_5x": rmse(5 * pred),
        "rmse_grouped_cv": rmse(calibrated),
    }


def semeval(data: Path, limit: int | None):
    from sklearn.metrics import f1_score, recall_score

    from bench.semeval import read
    from grader.essay import EssayGrader, EssayTask

    out = {}
    splits: dict[str, list[tuple[EssayTask, str, str]]] = defaultdict(list)
    for split, questions in read(data / "semeval2013" / "semeval-3way.zip", "test").items():
        for q in questions:
            task = EssayTask.generic(q.text, list(q.references))
            splits[split] += [(task, a.text, a.label) for a in q.answers]
    grader = EssayGrader()
    for split, items in sorted(splits.items()):
        if limit:
            items = random.Random(0).sample(items, min(limit, len(items)))
        t0 = time.perf_counter()
        results = grader.grade_many([(t, a if a.strip() else "-") for t, a, _ in items])
        seconds = time.perf_counter() - t0
        pred = [r.verdict if r.verdict != "partially_correct" else "incorrect" for r in results]
        gold = [g for _, _, g in items]
        labels = ["correct", "contradictory", "incorrect"]
        kept = [i for i, r in enumerate(results) if not r.review]  # what needs no review
        out[split] = {
            "n": len(items),
            "per_s": len(items) / seconds,
            "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro")),
            "contradictory_recall": float(
                recall_score(gold, pred, labels=["contradictory"], average="macro",
                             zero_division=0)  # fmt: skip
            ),
            "review_share": 1 - len(kept) / len(items),
            "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(items),
            "accuracy_unreviewed": sum(gold[i] == pred[i] for i in kept) / max(1, len(kept)),
        }
    return out


def speed(threads: int):
    from grader.embedding import get_embedder
    from grader.essay import EssayGrader, EssayTask
    from questions.bank import load_bank

    t0 = time.perf_counter()
    embedder = get_embedder(threads=threads)
    import torch

    threads = torch.get_num_threads()
    load = time.perf_counter() - t0
    spec = load_bank().get("beta-diagnosis-essay")
    task = EssayTask.from_item(spec)
    grader = EssayGrader(embedder)
    rng = random.Random(0)
    words = "policy reward model reference penalty beta fluency repeats text drifts".split()
    base = [
        "Beta is too low.", "The KL penalty keeps the policy close to the reference model.",
        "Without enough penalty the policy exploits the reward model.",
        "The outputs become repetitive and lose fluency.", "We should raise beta.",
        "The reward keeps rising while the quality falls.",
    ]  # fmt: skip

    def essay() -> str:  # unique sentences: nothing comes from the cache
        return " ".join(s[:-1] + f" {rng.choice(words)} {rng.randint(0, 10**6)}."
                        for s in rng.sample(base, rng.randint(3, 6)))  # fmt: skip

    grader.grade(task, essay())
    batch = [essay() for _ in range(1000)]
    t0 = time.perf_counter()
    grader.grade_many([(task, a) for a in batch])
    per_s = len(batch) / (time.perf_counter() - t0)
    lat = []
    for _ in range(200):
        a = essay()
        t0 = time.perf_counter()
        grader.grade(task, a)
        lat.append(time.perf_counter() - t0)
    lat.sort()
    return {"load_s": load, "essays_per_s": per_s, "p50_ms": 1000 * statistics.median(lat),
            "p95_ms": 1000 * lat[int(0.95 * len(lat))], "threads": threads}  # fmt: skip


def cli_thousand(threads: int | None) -> dict:
    """1,000 seed essays graded by one ``alignquiz grade essays --json`` process, model
    load included, as a teacher would run it."""
    import json
    import subprocess
    import tempfile

    rng = random.Random(1)
    base = ["Beta is too low.", "The KL penalty keeps the policy close to the reference model.",
            "Without enough penalty the policy exploits the reward model.",
            "The outputs become repetitive and lose fluency.", "We should raise beta."]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "essays.jsonl"
        with path.open("w") as fh:
            for i in range(1000):
                answer = " ".join(s[:-1] + f" (case {rng.randint(0, 10**6)})."
                                  for s in rng.sample(base, rng.randint(3, 5)))  # fmt: skip
                fh.write(json.dumps({"id": str(i), "answer": answer}) + "\n")
        cmd = [sys.executable, "-m", "alignquiz", "grade", "essays", str(path),
               "--item", "beta-diagnosis-essay", "--json"]  # fmt: skip
        if threads:
            cmd += ["--threads", str(threads)]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "lines": len(out.stdout.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "benchmarks")
    parser.add_argument("--limit", type=int, help="Answers per data set (a quick run).")
    parser.add_argument("--threads", type=int, help="Torch threads (default: torch's own).")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["mohler", "semeval", "speed", "cli"])  # fmt: skip
    args = parser.parse_args()
    if "speed" not in args.skip:
        s = speed(args.threads)
        print(f"speed ({s['threads']} threads): load {s['load_s']:.1f} s, "
              f"{s['essays_per_s']:.0f} essays/s, one essay p50 {s['p50_ms']:.0f} ms, "
              f"p95 {s['p95_ms']:.0f} ms   [{ANCHORS['speed']}]")  # fmt: skip
    if "cli" not in args.skip:
        c = cli_thousand(args.threads)
        print(f"alignquiz grade essays: {c['lines']} seed essays in {c['seconds']:.1f} s, "
              "model load included   [goal <= 15 s]")  # fmt: skip
    if "mohler" not in args.skip:
        m = mohler(args.data, args.limit)
        print(f"mohler (n={m['n']}): r {m['pearson']:.3f}, rho {m['spearman']:.3f}, "
              f"RMSE {m['rmse_5x']:.2f} (5 x score) / {m['rmse_grouped_cv']:.2f} "
              f"(linear map, leave-one-question-out)   [{ANCHORS['mohler r']}]")  # fmt: skip
    if "semeval" not in args.skip:
        for split, r in semeval(args.data, args.limit).items():
            anchor = ANCHORS.get(split.replace("sciEntsBank ", "sciEntsBank ").strip(), "")
            if "unseen-questions" in split:
                anchor = ANCHORS["unseen-questions"]
            print(f"semeval {split:32s} (n={r['n']}): macro-F1 {r['macro_f1']:.3f}, "
                  f"contradictory recall {r['contradictory_recall']:.3f}, "
                  f"{r['per_s']:.0f} answers/s; accuracy {r['accuracy']:.3f}, "
                  f"{r['accuracy_unreviewed']:.3f} on the {1 - r['review_share']:.0%} not "
                  f"flagged for review   [{anchor}]")  # fmt: skip


if __name__ == "__main__":
    main()
