"""Benchmark the gradebook API directly: one submission stored, then its grades recorded.

    python bench/gradebook_bench.py [--items 12] [--students 200] [--db URL]

Builds a quiz of the first ``--items`` items of the built-in bank for ``--students``
students in a fresh SQLite file (or ``--db``, e.g. a PostgreSQL URL, which must be an
empty database or schema), then, one student after another on one thread: ``submit``
(one attempt) and ``record_grades`` (one grade per item, one call). Prints the mean
milliseconds of each call and the submissions per second of the two together, the cost
the server pays per submission before any HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--db", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    from grader.result import GradeResult
    from grader.store import Gradebook
    from questions.bank import load_bank
    from questions.generate import generate_quiz
    from questions.variants import Student

    bank = load_bank()
    specs = [bank.get(i) for i in sorted(bank.ids())[: args.items]]
    students = [Student(student_id=f"b{i:04d}", name=f"Student {i}", email=f"b{i}@example.edu")
                for i in range(args.students)]  # fmt: skip
    quiz = generate_quiz(specs, students, seed=5, title="gradebook bench")
    db = args.db or str(Path(tempfile.mkdtemp(prefix="gbbench-")) / "bench.db")
    submit_s, grade_s = [], []
    with Gradebook(db).init() as book:
        book.import_quiz(quiz)
        for s in students:
            paper = quiz.variants[s.student_id]
            answers = {v.item_id: "0.5" for v in paper}
            results = {v.item_id: GradeResult.of(0.5, points=v.points, feedback=["half"])
                       for v in paper}  # fmt: skip
            t0 = time.perf_counter()
            sub = book.submit(s.student_id, quiz.quiz_id, "c1", answers, source="bench")
            t1 = time.perf_counter()
            made = book.record_grades(sub.id, results, grader="exact", grader_version="bench")
            t2 = time.perf_counter()
            assert len(made) == len(paper) and {g.version for g in made} == {1}
            submit_s.append(t1 - t0)
            grade_s.append(t2 - t1)
    backend = "sqlite" if args.db is None else args.db.split(":")[0]
    per_sub = statistics.mean(submit_s) + statistics.mean(grade_s)
    print(f"backend: {backend}; {args.students} submissions of {len(specs)} items, one thread")
    print(f"submit {1000 * statistics.mean(submit_s):.2f} ms, record_grades "
          f"{1000 * statistics.mean(grade_s):.2f} ms (p50 "
          f"{1000 * statistics.median(grade_s):.2f}): {1 / per_sub:.0f} submissions/s")  # fmt: skip


if __name__ == "__main__":
    main()
