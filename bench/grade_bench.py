"""Benchmark ``alignquiz grade``: N essay submissions graded in one run.

    python bench/grade_bench.py [--n 1000] [--threads 1] [--item beta-diagnosis-essay]

Builds a quiz of one essay item for N students, stores one submission per student in a
fresh SQLite gradebook, then runs the real console command ``alignquiz grade --db ...
--json`` in a subprocess and reports its wall time (process start and model load
included) and the grading time it reports. Every essay is made of sentences from the
demo's simulated answers, each made unique (a per-student clause), so the embedder's
cache of repeated texts never helps: every sentence is encoded.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OPENERS = ("In my view,", "Clearly,", "I would argue that", "Looking at the logs,", "So")


def essays(item_id: str, n: int, seed: int = 0) -> list[str]:
    """``n`` distinct essays for ``item_id`` whose sentences are all distinct."""
    from grader.demo_students import ESSAYS
    from grader.text import sentences

    pool = [s for text in ESSAYS[item_id].values() for s in sentences(text)]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        picked = rng.sample(pool, k=min(len(pool), rng.randint(2, 5)))
        out.append(" ".join(f"{rng.choice(OPENERS)} {s[0].lower()}{s[1:-1]} (run {i}-{j})."
                            for j, s in enumerate(picked)))  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--item", default="beta-diagnosis-essay")
    args = parser.parse_args()

    from grader.store import Gradebook
    from questions.bank import load_bank
    from questions.generate import generate_quiz
    from questions.variants import Student

    students = [Student(student_id=f"b{i:05d}", name=f"Bench {i}", email=f"b{i}@example.edu")
                for i in range(args.n)]  # fmt: skip
    quiz = generate_quiz([load_bank().get(args.item)], students, seed=1, title="bench")
    db = Path(tempfile.mkdtemp(prefix="grade-bench-")) / "course.db"
    t0 = time.perf_counter()
    with Gradebook(str(db)).init() as book:
        book.import_quiz(quiz)
        for s, text in zip(students, essays(args.item, args.n), strict=True):
            book.submit(s.student_id, quiz.quiz_id, "c1", {args.item: text}, source="bench")
    setup = time.perf_counter() - t0

    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "alignquiz", "grade", "--db", str(db), "--json",
         "--threads", str(args.threads)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    run = json.loads(done.stdout.strip().splitlines()[-1])
    with Gradebook(str(db)).open() as book:
        left = len(book.pending())
    print(f"{args.n} essay submissions ({args.item}), {args.threads} torch thread(s)")
    print(f"  gradebook setup (import + {args.n} submits): {setup:.1f} s")
    print(f"  alignquiz grade, wall (process + model load): {wall:.1f} s")
    print(f"  grading as reported: {run['seconds']:.1f} s, {run['essays']} essays, "
          f"{run['grades']} grades, {run['review']} flagged; pending after: {left}")  # fmt: skip


if __name__ == "__main__":
    main()
