"""The instructor's commands: ``report`` (and the ``demo`` of the whole loop).

Mounted by ``alignquiz.cli`` through ``grader.cli.COMMANDS``. Only click is imported
here; the gradebook, the analysis and matplotlib load inside the commands.

::

    alignquiz report --db URL [--quiz ID] --out DIR [--json]
    alignquiz demo [--out DIR] [--seed N]
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from grader.demo import demo
from grader.gradebook_cli import db_option

__all__ = ["COMMANDS", "demo", "report"]


@click.command()
@db_option
@click.option("--quiz", "quiz_id", default=None, help="Quiz id (needed with several quizzes).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the report to (index.html, students/).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print {index, students, seconds}.")
def report(db: str, quiz_id: str | None, out: Path, as_json: bool) -> None:
    """Write the HTML report of a graded quiz: score distribution, item difficulty and
    discrimination, Cronbach's alpha, the essays to review, a feedback page per student."""
    from grader.gradebook_cli import _pick_quiz
    from grader.report import write_report
    from grader.store import Gradebook

    with Gradebook(db).open() as book:
        quiz_id = _pick_quiz(book, quiz_id)
        files = write_report(book, quiz_id, out)
    if as_json:
        click.echo(json.dumps({"quiz_id": quiz_id, "index": str(files.index),
                               "plot": str(files.plot), "students": len(files.students),
                               "seconds": round(files.seconds, 3)}))  # fmt: skip
    else:
        click.echo(f"report of quiz {quiz_id} written to {files.index} "
                   f"({len(files.students)} student pages, {files.seconds:.1f} s)")  # fmt: skip


COMMANDS = [report, demo]
