"""The ``gradebook`` commands: ``init``, ``import-quiz DIR``, ``show``, ``export``.

Mounted by ``alignquiz.cli`` through ``COMMANDS``. Only click is imported here;
SQLAlchemy and the store are imported inside the commands, so ``alignquiz --help``
stays fast. Every command takes ``--db`` (a SQLite file or a ``postgresql://`` URL;
default ``$ALIGNQUIZ_DB``, else ``alignquiz.db`` in the current folder).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["COMMANDS", "gradebook"]

DB_HELP = "The gradebook: a SQLite file or a postgresql:// URL."
db_option = click.option(
    "--db", default="alignquiz.db", envvar="ALIGNQUIZ_DB", show_default=True,
    show_envvar=True, help=DB_HELP,
)  # fmt: skip
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _shown(db: str) -> str:
    """``db`` for messages, with any password hidden."""
    if "://" not in db:
        return db
    from sqlalchemy.engine import make_url

    return make_url(db).render_as_string(hide_password=True)


def _open(db: str):
    from grader.store import Gradebook

    return Gradebook(db).open()


@click.group()
def gradebook() -> None:
    """The course gradebook: quizzes, submissions and versioned grades."""


@gradebook.command("init")
@db_option
@json_option
def init_cmd(db: str, as_json: bool) -> None:
    """Create the gradebook, or upgrade it to this version's schema (safe to repeat)."""
    from grader.store import Gradebook

    with Gradebook(db).init() as book:
        revision = book.revision_
    if as_json:
        click.echo(json.dumps({"db": _shown(db), "schema": revision}))
    else:
        click.echo(f"gradebook ready at {_shown(db)} (schema {revision})")


@gradebook.command("import-quiz")
@click.argument("folder", type=click.Path())
@db_option
@json_option
def import_quiz_cmd(folder: str, db: str, as_json: bool) -> None:
    """Store a generated quiz (FOLDER/private/quiz.json) with its variants and keys, and
    the hashes of its access tokens (FOLDER/private/tokens.csv, if there is one).
    Repeating it changes nothing; a different quiz with the same id is refused."""
    from grader.access import read_tokens_csv
    from questions.quizdir import read_quiz

    quiz = read_quiz(folder)
    tokens_csv = Path(folder) / "private" / "tokens.csv"
    tokens = read_tokens_csv(tokens_csv) if tokens_csv.is_file() else {}
    with _open(db) as book:
        done = book.import_quiz(quiz)
        new_tokens = book.issue_tokens(quiz.quiz_id, tokens) if tokens else 0
    if as_json:
        click.echo(json.dumps({"quiz_id": done.quiz_id, "created": done.created,
                               "students": done.students, "variants": done.variants,
                               "new_tokens": new_tokens}))  # fmt: skip
    elif done.created:
        click.echo(f"imported quiz {done.quiz_id}: {done.students} students, "
                   f"{done.variants} variants, {new_tokens} tokens")  # fmt: skip
    else:
        click.echo(f"quiz {done.quiz_id} is already in the gradebook: nothing changed"
                   + (f" ({new_tokens} new tokens)" if new_tokens else ""))  # fmt: skip


def _pick_quiz(book, quiz_id: str | None) -> str:
    from grader.db import NotFoundError

    if quiz_id is not None:
        return quiz_id
    ids = [q.quiz_id for q in book.quizzes()]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise NotFoundError("the gradebook has no quiz yet: run 'alignquiz gradebook import-quiz'")
    raise NotFoundError(f"the gradebook has {len(ids)} quizzes; give --quiz ({', '.join(ids)})")


def _deadline(_ctx, _param, value: str | None):
    if value is None or value == "none":
        return None
    from datetime import datetime

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give an ISO time, e.g. 2026-12-01T17:00+01:00") from None
    if when.tzinfo is None:
        raise click.BadParameter("give a timezone, e.g. 2026-12-01T17:00+01:00 or ...Z")
    return when


@gradebook.command("policy")
@click.option("--quiz", "quiz_id", default=None, help="Quiz id (needed with several quizzes).")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None,
              help="Attempts a student may store (default: no limit).")  # fmt: skip
@click.option("--deadline", callback=_deadline, default=None,
              help="ISO time with a timezone, e.g. 2026-12-01T17:00+01:00.")  # fmt: skip
@click.option("--release", type=click.Choice(["immediately", "after_deadline"]),
              default="immediately", show_default=True, help="When feedback is shown.")  # fmt: skip
@db_option
@json_option
def policy_cmd(quiz_id, max_attempts, deadline, release, db: str, as_json: bool) -> None:
    """Set how a quiz is run: attempts, deadline, feedback release (the server applies it)."""
    with _open(db) as book:
        quiz_id = _pick_quiz(book, quiz_id)
        policy = book.set_policy(quiz_id, max_attempts=max_attempts, deadline=deadline,
                                 release=release)  # fmt: skip
    shown = {"quiz_id": quiz_id, "max_attempts": policy.max_attempts,
             "deadline": policy.deadline.isoformat() if policy.deadline else None,
             "release": policy.release}  # fmt: skip
    text = ", ".join(f"{k}: {'none' if v is None else v}" for k, v in shown.items())
    click.echo(json.dumps(shown) if as_json else text)


@gradebook.command("show")
@click.option("--quiz", "quiz_id", default=None, help="Show one quiz's students and totals.")
@click.option("--policy", type=click.Choice(["last", "best"]), default="last", show_default=True,
              help="Which attempt counts.")  # fmt: skip
@db_option
@json_option
def show_cmd(quiz_id: str | None, policy: str, db: str, as_json: bool) -> None:
    """List the quizzes (submissions, pending); with --quiz, every student's total."""
    from rich.console import Console
    from rich.table import Table

    with _open(db) as book:
        if quiz_id is None:
            quizzes = book.quizzes()
            rows = [{"quiz_id": q.quiz_id, "title": q.title, "students": q.students,
                     "items": q.items, "submissions": q.submissions, "pending": q.pending,
                     "imported_at": q.imported_at.isoformat()} for q in quizzes]  # fmt: skip
            if as_json:
                click.echo(json.dumps(rows, indent=1))
                return
            noun = "quiz" if len(rows) == 1 else "quizzes"
            table = Table(title=f"{len(rows)} {noun} in {_shown(db)}")
            for column in ("quiz_id", "title", "students", "items", "submissions", "pending"):
                table.add_column(column, no_wrap=column == "quiz_id")
            for r in rows:
                table.add_row(*(str(r[c]) for c in ("quiz_id", "title", "students", "items",
                                                   "submissions", "pending")))  # fmt: skip
            Console().print(table)
            return
        totals = book.totals(quiz_id, policy)
    if as_json:
        rows = [{"student_id": t.student_id, "attempts": t.attempts,
                 "submission_id": t.submission_id, "points": t.points,
                 "max_points": t.max_points} for t in totals]  # fmt: skip
        click.echo(json.dumps(rows, indent=1))
        return
    table = Table(title=f"quiz {quiz_id} ({policy} attempt counts)")
    for column in ("student", "name", "attempts", "points", "max"):
        table.add_column(column)
    for t in totals:
        points = (
            "pending"
            if t.attempts and t.points is None
            else ""
            if t.points is None
            else f"{t.points:g}"
        )
        table.add_row(t.student_id, t.name, str(t.attempts), points, f"{t.max_points:g}")
    Console().print(table)


@gradebook.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "canvas", "moodle"]), default="csv",
              show_default=True, help="Grades for an LMS import.")  # fmt: skip
@click.option("--submissions", is_flag=True, help="One row per item of every stored submission.")
@click.option("--quiz", "quiz_id", default=None, help="Quiz id (needed with several quizzes).")
@click.option("--policy", type=click.Choice(["last", "best"]), default="last", show_default=True,
              help="Which attempt counts.")  # fmt: skip
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="File (default: stdout)."
)
@db_option
def export_cmd(fmt: str, submissions: bool, quiz_id: str | None, policy: str,
               out: str | None, db: str) -> None:  # fmt: skip
    """Export grades as CSV (plain, Canvas or Moodle), or every submission for an audit.
    Cells that begin with = + - @ are neutralised with a leading quote."""
    from grader.grade_export import grades_csv, submissions_csv

    with _open(db) as book:
        quiz_id = _pick_quiz(book, quiz_id)
        if submissions:
            text = submissions_csv(book.audit_rows(quiz_id))
        else:
            quiz = book.load_quiz(quiz_id)
            text = grades_csv(book.totals(quiz_id, policy), title=quiz.title,
                              item_ids=quiz.item_ids, fmt=fmt)  # fmt: skip
    if out is None:
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8", newline="")
        click.echo(f"wrote {out}", err=True)


@gradebook.command("import-submissions")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--quiz", "quiz_dir", required=True, type=click.Path(file_okay=False),
              help="The quiz folder (its private/tokens.csv checks the signatures).")
@click.option("--enforce-deadline", is_flag=True, help="Refuse files imported after the deadline.")
@db_option
@json_option
def import_submissions_cmd(files, quiz_dir, enforce_deadline, db, as_json):
    """Store signed offline submissions (submit --to-file); an altered file imports nothing."""
    from grader.access import read_tokens_csv
    from grader.answer_sheet import import_signed

    tokens = read_tokens_csv(Path(quiz_dir) / "private" / "tokens.csv")
    with _open(db) as book:
        stored = import_signed(book, files, tokens, enforce_deadline=enforce_deadline)
    rows = [{"file": f, "submission_id": s.id, "student_id": s.student_id,
             "replayed": s.replayed} for f, s in zip(files, stored, strict=True)]  # fmt: skip
    click.echo(json.dumps(rows) if as_json else f"imported {len(rows)} submissions "
               f"({sum(r['replayed'] for r in rows)} already there)")  # fmt: skip


COMMANDS = [gradebook]
