"""The ``bank`` and ``quiz`` commands (mounted by ``alignquiz.cli``; the ``demo`` of the
whole loop is :mod:`grader.demo`, which reuses :func:`build_quiz`).

Only click is imported here; everything else is imported inside the commands, so
``alignquiz --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__all__ = ["COMMANDS", "bank", "build_quiz", "quiz"]

BANK_HELP = "A bank folder or file (repeatable); 'builtin' names the shipped bank (the default)."


def _progress(total: int, description: str):
    """A rich progress bar on a terminal, silent otherwise."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty(),
        console=None,
    )  # fmt: skip


# ---------------------------------------------------------------------------- bank
@click.group()
def bank() -> None:
    """List and validate question banks."""


@bank.command("list")
@click.option("--bank", "banks", multiple=True, help=BANK_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines for scripts.")
def bank_list(banks: tuple[str, ...], as_json: bool) -> None:
    """List the items: id, kind, topic, Bloom level, points."""
    from questions.bank import load_bank

    loaded = load_bank(banks or None)
    rows = [
        {"id": b.spec.id, "kind": b.spec.kind, "topic": b.spec.topic, "bloom": b.spec.bloom,
         "points": b.spec.points, "title": b.spec.title}
        for b in loaded.items.values()
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} items")
    for column in ("id", "kind", "topic", "bloom", "points"):
        table.add_column(column, justify="right" if column == "points" else "left")
    for r in rows:
        table.add_row(r["id"], r["kind"], r["topic"], r["bloom"], f"{r['points']:g}")
    Console().print(table)


@bank.command("validate")
@click.argument("paths", nargs=-1)
@click.option("--seeds", default=50, show_default=True, help="Seeds each item is tested with.")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.option(
    "--evidence",
    type=click.Path(),
    default=None,
    is_flag=False,
    flag_value="",
    help="Folder of simulator sweeps: check every item's evidence claims against the runs "
    "(--evidence alone: the packs shipped in questions/evidence, made from real runs).",
)
def bank_validate(paths: tuple[str, ...], seeds: int, as_json: bool, evidence: str | None) -> None:
    """Check a bank: every item loads, renders for many seeds, and its key scores full
    marks (and, with --evidence, its claims hold in real runs). Each problem is printed
    as file:line: message; exit code 2 if any."""
    from questions.bank import scan_bank
    from questions.selftest import selftest_bank

    loaded, errors = scan_bank(paths or None)
    problems = [str(e) for e in errors] + [str(p) for p in selftest_bank(loaded, seeds)]
    if evidence is not None:
        from questions.evidence import check_evidence
        from questions.exhibits import PACKS

        problems += [str(p) for p in check_evidence(loaded, evidence or PACKS)]
    if as_json:
        click.echo(json.dumps({"items": len(loaded), "problems": problems}, indent=1))
    else:
        for line in problems:
            click.echo(line, err=True)
        verdict = "ok" if not problems else f"{len(problems)} problem(s)"
        click.echo(f"{len(loaded)} items checked with {seeds} seeds each: {verdict}")
    if problems:
        sys.exit(2)


# ---------------------------------------------------------------------------- quiz
@click.group()
def quiz() -> None:
    """Generate per-student quizzes and read their keys."""


@quiz.command("generate")
@click.option("--roster", required=True, type=click.Path(), help="CSV: student_id,name,email.")
@click.option("--seed", required=True, type=int, help="Quiz seed: same seed, same quiz.")
@click.option("--out", required=True, type=click.Path(), help="Folder to write the quiz to.")
@click.option("--items", default=None, help="Comma-separated item ids (default: all).")
@click.option("--all", "all_items", is_flag=True, help="Every item of the bank(s).")
@click.option("--bank", "banks", multiple=True, help=BANK_HELP)
@click.option("--title", default="RLHF: PPO and the KL penalty", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing quiz folder.")
def quiz_generate(roster, seed, out, items, all_items, banks, title, force) -> None:
    """Write a student-safe quiz (Markdown, HTML, quiz.json) and its private key."""
    if items and all_items:
        raise click.UsageError("give --items or --all, not both")
    item_ids = [i.strip() for i in items.split(",") if i.strip()] if items else None
    path = build_quiz(roster, seed, out, item_ids, banks, title, force)
    click.echo(f"quiz written to {path}")


def build_quiz(roster, seed, out, item_ids, banks, title, force) -> Path:
    """Load, generate and write a quiz; the shared path of ``quiz generate`` and the demo."""
    from questions.bank import load_bank
    from questions.generate import CompiledItem, generate_quiz
    from questions.quizdir import write_quiz
    from questions.roster import read_roster

    students = read_roster(roster)
    specs = load_bank(banks or None).select(item_ids)
    compiled = {s.id: CompiledItem.build(s) for s in specs}
    with _progress(len(students), "generating") as progress:
        task = progress.add_task("drawing variants", total=len(students))
        made = generate_quiz(specs, students, seed, title, compiled,
                             progress=lambda n: progress.advance(task, n))  # fmt: skip
        task = progress.add_task("writing papers", total=len(students))
        return write_quiz(made, compiled, out, force=force,
                          progress=lambda n: progress.advance(task, n))  # fmt: skip


@quiz.command("key")
@click.argument("folder", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="{student_id: {item_id: {params, answer}}}")
def quiz_key(folder: str, as_json: bool) -> None:
    """Print the answer key of a generated quiz (instructors only)."""
    from questions.quizdir import key_table, read_quiz

    made = read_quiz(folder)
    table = key_table(made)
    if as_json:
        click.echo(json.dumps(table, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"key of quiz {made.quiz_id}")
    for column in ("student", "item", "params", "answer"):
        out.add_column(column)
    for sid, row in table.items():
        for item_id, entry in row.items():
            params = ", ".join(f"{k}={v:g}" for k, v in entry["params"].items())
            answer = entry["answer"]
            if answer is None:
                shown = "(essay: see the references with --json or in the bank)"
            elif isinstance(answer, list):
                shown = " | ".join(answer)
            else:
                shown = f"{answer:.6g}"
            out.add_row(sid, item_id, params, shown)
    Console().print(out)


EXPORT_FORMATS = ("qti12", "qti21", "moodle", "gift")


@quiz.command("export")
@click.argument("folder", type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(EXPORT_FORMATS),
    help="qti12 (Canvas package), qti21 (QTI 2.1 package), moodle (XML), gift.",
)
@click.option("--out", required=True, type=click.Path(), help="File to write.")
@click.option(
    "--date",
    "created",
    default=None,
    metavar="YYYY-MM-DD",
    help="Date written into the export [default: today, UTC]. The same quiz and "
    "date give the same bytes.",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--json", "as_json", is_flag=True, help="Print {path, format, bytes, notes}.")
def quiz_export(folder, fmt, out, created, force, as_json) -> None:
    """Export a generated quiz for an LMS. Each item feature the format cannot keep is
    reported on stderr with what was done instead; nothing is written on an error."""
    import datetime
    import os
    import tempfile

    from questions.errors import QuizError
    from questions.export import export
    from questions.quizdir import read_quiz

    try:
        day = (
            datetime.date.fromisoformat(created)
            if created
            else datetime.datetime.now(datetime.UTC).date()
        )
    except ValueError:
        raise click.BadParameter(f"{created!r} is not YYYY-MM-DD", param_hint="--date") from None
    target = Path(out)
    if target.exists() and not force:
        raise QuizError("already exists; pass --force to replace it", path=str(target))
    notes: list[str] = []
    data = export(read_quiz(folder), fmt, day, notes)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if as_json:
        click.echo(json.dumps({"path": str(target), "format": fmt, "bytes": len(data),
                               "notes": notes}, indent=1))  # fmt: skip
        return
    for line in notes:
        click.echo(f"note: {line}", err=True)
    click.echo(f"{fmt} export of {folder} written to {target} ({len(data):,} bytes)")


COMMANDS = [bank, quiz]
