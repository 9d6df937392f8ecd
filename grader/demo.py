"""The demo: the whole course loop on the embedded defaults, in one command.

``alignquiz demo [--out DIR] [--seed N]``:

1. build a quiz of the whole built-in bank for the sample roster (``DIR``: student
   papers, ``quiz.json``, the private key);
2. create a SQLite gradebook (``DIR/private/gradebook.db``) and import the quiz;
3. submit each student's simulated answers (:mod:`grader.demo_students`): every answer
   goes through the format check the server and the student CLI share, so a malformed
   number is refused (nothing stored, no attempt used) and the student corrects it;
4. grade everything pending (essays with the real embedding model, loaded once);
5. write the report (``DIR/report/index.html`` and a page per student).

The same seed gives the same quiz, the same answers and the same grades. Running it
again replaces its own folder; a folder that is not a quiz is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from grader.demo_students import SimulatedPaper
    from grader.store import Gradebook
    from questions.variants import Quiz

__all__ = ["DemoRun", "demo", "run_demo", "submit_papers"]

TITLE = "RLHF: PPO and the KL penalty (demo)"


@dataclass(frozen=True)
class DemoRun:
    """Where the demo put everything, and what it took."""

    folder: Path
    quiz_id: str
    students: int
    items: int
    db: Path
    report: Path
    submitted: int
    refused: int
    graded: int
    essays: int
    review: int
    seconds: dict[str, float]


def submit_papers(book: Gradebook, quiz: Quiz, papers: list[SimulatedPaper]) -> tuple[int, int]:
    """Submit each paper as its student would: the first try is checked with the shared
    format check and refused if any answer cannot be read (nothing stored), then the
    corrected answers are stored. Returns (stored, refused)."""
    from grader.api import parse_answer
    from grader.parse import FormatError

    stored = refused = 0
    for paper in papers:
        variants = {v.item_id: v for v in quiz.variants[paper.student_id]}
        bad = [
            item_id
            for item_id, raw in paper.first_try.items()
            if isinstance(parse_answer(variants[item_id], raw,
                                       getattr(quiz.items[item_id], "max_words", None)),
                          FormatError)
        ]  # fmt: skip
        refused += bool(bad)
        if paper.answers:
            book.submit(paper.student_id, quiz.quiz_id, f"demo-{paper.student_id}-1",
                        paper.answers, source="demo")  # fmt: skip
            stored += 1
    return stored, refused


def _refuse_foreign(target: Path) -> None:
    from questions.errors import QuizError

    if target.exists() and any(target.iterdir()) and not (target / "private/quiz.json").exists():
        raise QuizError("exists and is not an alignquiz quiz; choose another --out",
                        path=str(target))  # fmt: skip


def run_demo(out: Path, seed: int, *, echo=click.echo, quiet: bool = False) -> DemoRun:
    """Run the whole loop into ``out`` (see the module docstring)."""
    from importlib.resources import files

    from grader.demo_students import simulate
    from grader.essay import EssayGrader
    from grader.pending import LazyEmbedder, grade_pending
    from grader.progress import progress_bar
    from grader.report import write_report
    from grader.store import Gradebook
    from questions.cli import build_quiz
    from questions.quizdir import read_quiz

    out = Path(out)
    _refuse_foreign(out)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    roster = files("questions") / "data" / "sample_roster.csv"
    path = build_quiz(str(roster), seed, str(out), None, (), TITLE, force=True)
    quiz = read_quiz(path)
    seconds["quiz"] = time.perf_counter() - t0
    echo(f"[1/4] quiz {quiz.quiz_id}: {len(quiz.students)} students x {len(quiz.item_ids)} "
         f"items ({seconds['quiz']:.1f} s)")  # fmt: skip

    t0 = time.perf_counter()
    db = path / "private" / "gradebook.db"
    with Gradebook(str(db)).init() as book:
        book.import_quiz(quiz)
        stored, refused = submit_papers(book, quiz, simulate(quiz, seed))
        seconds["submit"] = time.perf_counter() - t0
        echo(f"[2/4] gradebook {db}: {stored} submissions stored; {refused} students' first "
             f"tries refused for a malformed number, no attempt used "
             f"({seconds['submit']:.1f} s)")  # fmt: skip

        t0 = time.perf_counter()
        with progress_bar("grading", quiet=quiet) as bar:
            run = grade_pending(book, essay_grader=EssayGrader(LazyEmbedder(threads=1)),
                                on_start=bar.start, on_progress=bar.advance, chunk=4)  # fmt: skip
        seconds["grade"] = time.perf_counter() - t0
        echo(f"[3/4] graded {run.grades} answers ({run.essays} essays with the embedding "
             f"model, {run.review} flagged for review) ({seconds['grade']:.1f} s)")  # fmt: skip

        t0 = time.perf_counter()
        report = write_report(book, quiz.quiz_id, path / "report")
        seconds["report"] = time.perf_counter() - t0
        echo(f"[4/4] report written ({seconds['report']:.1f} s)")
    return DemoRun(path, quiz.quiz_id, len(quiz.students), len(quiz.item_ids), db,
                   report.index, stored, refused, run.grades, run.essays, run.review,
                   seconds)  # fmt: skip


@click.command(short_help="Run the whole loop on sample data: quiz, grades, report.")
@click.option("--out", default="alignquiz-demo", show_default=True, type=click.Path())
@click.option("--seed", default=2026, show_default=True, type=int)
def demo(out: str, seed: int) -> None:
    """Run the whole loop on the built-in bank and sample roster: build a quiz, simulate
    students of mixed quality, grade them (essays with the real model), write the report."""
    start = time.perf_counter()
    done = run_demo(Path(out), seed)
    first = sorted((done.folder / "report" / "students").glob("*.html"))
    example = first[0].name if first else "s001.html"
    click.echo(
        f"\nDone in {time.perf_counter() - start:.1f} s. Quiz {done.quiz_id}: {done.students} "
        f"students x {done.items} items.\n"
        f"  student papers : {done.folder / 'students'}/ (HTML and Markdown)\n"
        f"  student view   : {done.folder / 'quiz.json'}\n"
        f"  private key    : {done.folder / 'private'}/ (never hand this out)\n"
        f"  gradebook      : {done.db}\n"
        f"  report         : {done.report}\n"
        f"  feedback pages : {done.folder / 'report' / 'students'}/ (e.g. {example})\n"
        f"Next: open {done.report} in a browser, or try\n"
        f"  alignquiz gradebook show --db {done.db} --quiz {done.quiz_id}\n"
        f"  alignquiz grade --db {done.db} --regrade\n"
        f"  alignquiz gradebook export --db {done.db} --format canvas"
    )
