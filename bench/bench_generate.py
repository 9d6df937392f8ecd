"""Benchmark: generate a quiz of every built-in item for N students, all artefacts written.

    python bench/bench_generate.py [--students 1000] [--repeat 3]

Prints the wall time of each phase (best of --repeat) and of ``alignquiz --help``.
Target (issue 3): <= 5 s for 1,000 students on 2 cores; --help < 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from questions.bank import load_bank
    from questions.generate import CompiledItem, generate_quiz
    from questions.quizdir import write_quiz
    from questions.roster import read_roster

    runs: dict[str, list[float]] = {"load": [], "generate": [], "write": [], "total": []}
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_text(
            "student_id,name,email\n"
            + "".join(f"s{i:05d},Student {i},s{i}@example.edu\n" for i in range(args.students))
        )
        for r in range(args.repeat):
            t0 = time.perf_counter()
            students = read_roster(roster)
            specs = load_bank().select(None)
            compiled = {s.id: CompiledItem.build(s) for s in specs}
            t1 = time.perf_counter()
            quiz = generate_quiz(specs, students, seed=r, compiled=compiled)
            t2 = time.perf_counter()
            out = write_quiz(quiz, compiled, Path(tmp) / f"q{r}")
            t3 = time.perf_counter()
            for name, value in zip(runs, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                runs[name].append(value)
        files = sum(1 for p in out.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20

    helps = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "alignquiz", "--help"], check=True,
                       capture_output=True)  # fmt: skip
        helps.append(time.perf_counter() - t0)

    print(f"quiz of {len(specs)} items x {args.students} students "
          f"({len(specs) * args.students} variants, {files} files, {size:.1f} MiB)")  # fmt: skip
    for name, values in runs.items():
        print(f"  {name:9s} best {min(values):6.2f} s   median {statistics.median(values):6.2f} s")
    print(f"alignquiz --help: best {min(helps) * 1000:.0f} ms, median "
          f"{statistics.median(helps) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
