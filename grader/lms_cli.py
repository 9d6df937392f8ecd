"""The ``lms`` commands: grades back from an LMS.

::

    alignquiz lms import-responses --format canvas|moodle FILE --quiz DIR [--db URL] [--json]

Reads Canvas's "Student Analysis" CSV (Quizzes > the quiz > Quiz Statistics > Student
Analysis) or Moodle's quiz "Responses" report downloaded as CSV (tick "Question text"
when the quiz draws variants), grades every attempt with our grader (essays with the
embedding model) and stores attempts and grades in the gradebook in one transaction.
Then ``alignquiz gradebook export --format canvas|moodle`` writes the grade file to
import back. Only click is imported here; the rest loads inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from grader.gradebook_cli import db_option, json_option

__all__ = ["COMMANDS", "lms"]


@click.group()
def lms() -> None:
    """Canvas and Moodle: import students' responses, grade them, store the grades."""


@lms.command("import-responses")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["canvas", "moodle"]), required=True,
              help="canvas: Student Analysis CSV; moodle: Responses report CSV.")  # fmt: skip
@click.option("--quiz", "quiz_dir", required=True, type=click.Path(file_okay=False),
              help="The quiz folder the LMS quiz was exported from.")  # fmt: skip
@db_option
@json_option
def import_responses_cmd(file: Path, fmt: str, quiz_dir: str, db: str, as_json: bool) -> None:
    """Import, grade and store an LMS response file: all of it, or nothing."""
    from grader.lms_import import import_responses
    from grader.store import Gradebook
    from questions.quizdir import read_quiz

    quiz = read_quiz(quiz_dir)
    with Gradebook(db).open() as book:
        done = import_responses(book, quiz, file, fmt)
    rows = [{"line": d.line, "student_id": d.student_id, "submission_id": d.submission_id,
             "attempt_no": d.attempt_no, "points": d.points, "replayed": d.replayed}
            for d in done]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    again = sum(r["replayed"] for r in rows)
    click.echo(f"imported {len(rows) - again} {fmt} attempts of quiz {quiz.quiz_id}, graded"
               + (f" ({again} already there)" if again else ""))  # fmt: skip


COMMANDS = [lms]
