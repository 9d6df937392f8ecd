"""The ``grade`` commands (mounted by ``alignquiz.cli``): one interface for scripts.

::

    alignquiz grade [--db URL] [--quiz ID] [--regrade] [--json]
    alignquiz grade essays FILE.jsonl [--item ID] [--bank DIR] [--json]
    alignquiz grade answers --quiz DIR --answers FILE.jsonl [--json]

``grade`` alone grades the gradebook's pending submissions, or with ``--regrade`` adds
a new grade version to every stored one (:mod:`grader.pending`), with a progress bar.
Submissions imported from an LMS are skipped, and counted ("skipped N LMS-imported
submissions: graded by the LMS's variant"; ``skipped_lms`` in ``--json``).

``grade essays`` reads lines ``{"id", "answer"}`` plus either ``"item"`` (a bank id: its
references and rubric) or ``"question"`` and ``"reference"``/``"references"`` (generic
mode, any short-answer question); ``--item`` names the item for lines that give none. It
writes one line per input: ``{"id", "score", "verdict", "feedback", "confidence",
"review"}``, or ``{"id", "error"}`` for an answer that cannot be read (a format error:
empty, or over the item's word limit).

``grade answers`` grades a generated quiz's numeric, multiple-choice and essay answers:
lines ``{"student", "item", "answer"}``; out ``{"student", "item", "score", "points",
"verdict", "feedback", ...}`` or ``{"student", "item", "error"}``.

Only click is imported at module level: torch loads when the first essay is graded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from grader.gradebook_cli import db_option

__all__ = ["COMMANDS", "grade"]

BANK_HELP = "A bank folder or file (repeatable); 'builtin' names the shipped bank (the default)."
CHUNK = 256
THREADS_HELP = (
    "Torch threads for the models [default: torch's, one per core]. On a quiet 2-core "
    "machine 2 threads grade 106 essays/s and 1 thread 69; when other work shares the "
    "cores, 1 is faster."
)


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from grader.errors import AnswersError

    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AnswersError(f"not JSON: {exc.msg}", path=str(path), line=lineno) from None
            if not isinstance(row, dict):
                raise AnswersError("each line must be a JSON object", path=str(path), line=lineno)
            yield lineno, row


def _emit(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(row, ensure_ascii=False))
        return
    who = row.get("id") or f"{row.get('student')}/{row.get('item')}"
    if "error" in row:
        click.echo(f"{who}: format error: {row['error']}")
        return
    flag = "  [review]" if row.get("review") else ""
    click.echo(f"{who}: {row['score']:.2f} {row['verdict']}{flag}")
    for line in row["feedback"]:
        click.echo(f"    {line}")


@click.group(invoke_without_command=True, short_help="Grade pending submissions, or files.")
@db_option
@click.option("--quiz", "quiz_id", default=None, help="Grade one quiz only (default: all).")
@click.option(
    "--regrade",
    is_flag=True,
    help="Add a new grade version for every stored submission (history stays); "
    "LMS-imported ones are skipped: the LMS's variant graded them.",
)
@click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary for scripts.")
@click.pass_context
def grade(ctx: click.Context, db: str, quiz_id: str | None, regrade: bool, threads: int | None,
          as_json: bool) -> None:  # fmt: skip
    """Grade the gradebook's pending submissions (or --regrade all of them).

    The subcommands grade files instead: essays from a JSON-lines file, or a whole
    quiz's answers."""
    if ctx.invoked_subcommand is not None:
        return
    from grader.essay import EssayGrader
    from grader.pending import LazyEmbedder, grade_pending
    from grader.progress import progress_bar
    from grader.store import Gradebook

    with Gradebook(db).open() as book, progress_bar("grading", quiet=as_json) as bar:
        run = grade_pending(book, quiz_id=quiz_id, regrade=regrade,
                            essay_grader=EssayGrader(LazyEmbedder(threads)),
                            on_start=bar.start, on_progress=bar.advance)  # fmt: skip
    if as_json:
        click.echo(json.dumps(run.as_dict()))
        return
    what = "regraded" if regrade else "graded"
    click.echo(f"{what} {run.submissions} submissions: {run.grades} grades ({run.essays} "
               f"essays, {run.review} flagged for review) in {run.seconds:.1f} s")  # fmt: skip
    skipped = run.skipped_message()
    if skipped:
        click.echo(skipped)


@grade.command("essays")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--item", "item_id", help="Bank item for lines without 'item' or 'question'.")
@click.option("--bank", "banks", multiple=True, help=BANK_HELP)
@click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines for scripts.")
def grade_essays(
    file: Path, item_id: str | None, banks: tuple[str, ...], threads: int | None, as_json: bool
) -> None:
    """Grade essays in FILE (JSON lines: id, answer, and item or question + references)."""
    from grader.errors import AnswersError
    from grader.essay import EssayGrader, EssayTask
    from grader.parse import FormatError, parse_text
    from questions.bank import load_bank
    from questions.errors import BankError

    bank = None
    tasks: dict[str, EssayTask] = {}

    def task_for(row: dict[str, Any], lineno: int) -> tuple[EssayTask, int | None]:
        nonlocal bank
        where = {"path": str(file), "line": lineno}
        if "question" in row or "reference" in row or "references" in row:
            refs = row.get("references", [row["reference"]] if "reference" in row else [])
            if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
                raise AnswersError("give 'reference' or a non-empty 'references' list", **where)
            return EssayTask.generic(row.get("question"), refs), None
        wanted = row.get("item", item_id)
        if not wanted:
            raise AnswersError("no 'item' on this line and no --item given", **where)
        if wanted not in tasks:
            bank = bank or load_bank(banks or None)
            try:
                spec = bank.get(wanted)
            except BankError as exc:
                raise AnswersError(str(exc), **where) from None
            if spec.kind != "essay":
                raise AnswersError(f"item {wanted!r} is {spec.kind}, not an essay", **where)
            tasks[wanted] = EssayTask.from_item(spec)
        spec_words = bank.get(wanted).max_words if bank is not None else None
        return tasks[wanted], spec_words

    from grader.embedding import get_embedder

    grader = EssayGrader(get_embedder(threads=threads))
    pending: list[tuple[str, EssayTask, str]] = []

    def flush() -> None:
        results = grader.grade_many([(t, a) for _, t, a in pending])
        for (rid, _, _), r in zip(pending, results, strict=True):
            _emit({"id": rid, "score": round(r.score, 4), "verdict": r.verdict,
                   "feedback": list(r.feedback), "confidence": r.confidence,
                   "review": r.review}, as_json)  # fmt: skip
        pending.clear()

    for lineno, row in _read_jsonl(file):
        if "id" not in row or not isinstance(row.get("answer"), str):
            raise AnswersError("each line needs 'id' and a string 'answer'", path=str(file),
                               line=lineno)  # fmt: skip
        task, max_words = task_for(row, lineno)
        parsed = parse_text(row["answer"], max_words=max_words)
        if isinstance(parsed, FormatError):
            flush()
            _emit({"id": row["id"], "error": parsed.message}, as_json)
            continue
        pending.append((row["id"], task, parsed.text))
        if len(pending) >= CHUNK:
            flush()
    flush()


@grade.command("answers")
@click.option("--quiz", "quiz_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--answers", "answers_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--threads", type=click.IntRange(min=1), help=THREADS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines for scripts.")
def grade_answers(quiz_dir: Path, answers_file: Path, threads: int | None, as_json: bool) -> None:
    """Grade a quiz's answers (JSON lines: student, item, answer)."""
    from grader.errors import AnswersError
    from grader.essay import EssayGrader, EssayTask
    from grader.exact import grade as grade_exact
    from grader.parse import FormatError, parse_choice, parse_number, parse_text
    from questions.models import EssayItem
    from questions.quizdir import read_quiz

    quiz = read_quiz(quiz_dir)
    variants = {(sid, v.item_id): v for sid, vs in quiz.variants.items() for v in vs}
    essays: list[tuple[dict[str, Any], EssayTask, str, float]] = []
    for lineno, row in _read_jsonl(answers_file):
        key = (row.get("student"), row.get("item"))
        if key not in variants or not isinstance(row.get("answer"), str):
            raise AnswersError(
                f"no variant for student {key[0]!r} and item {key[1]!r} in this quiz, or no "
                "string 'answer'", path=str(answers_file), line=lineno,
            )  # fmt: skip
        v, spec = variants[key], quiz.items[key[1]]
        head = {"student": key[0], "item": key[1]}
        if v.kind == "numeric":
            parsed = parse_number(row["answer"])
        elif v.kind == "multiple_choice":
            parsed = parse_choice(row["answer"], v.options, multiple=v.multiple)
        else:
            assert isinstance(spec, EssayItem)
            parsed = parse_text(row["answer"], max_words=spec.max_words)
        if isinstance(parsed, FormatError):
            _emit({**head, "error": parsed.message}, as_json)
        elif isinstance(spec, EssayItem):
            essays.append((head, EssayTask.from_item(spec), parsed.text, v.points))
        else:
            r = grade_exact(v, parsed, spec)
            _emit({**head, "score": r.score, "points": r.points, "verdict": r.verdict,
                   "feedback": list(r.feedback), "confidence": r.confidence,
                   "review": r.review}, as_json)  # fmt: skip
    if essays:
        from grader.embedding import get_embedder

        grader = EssayGrader(get_embedder(threads=threads))
        results = grader.grade_many([(t, a) for _, t, a, _ in essays])
        for (head, _, _, points), r in zip(essays, results, strict=True):
            _emit({**head, "score": round(r.score, 4), "points": round(r.score * points, 4),
                   "verdict": r.verdict, "feedback": list(r.feedback),
                   "confidence": r.confidence, "review": r.review}, as_json)  # fmt: skip


def _commands() -> list[click.Command]:
    """The grader's sub-apps: grading here, the gradebook, the server and the student CLI."""
    from grader.gradebook_cli import COMMANDS as GRADEBOOK
    from grader.instructor_cli import COMMANDS as INSTRUCTOR
    from grader.lms_cli import COMMANDS as LMS
    from grader.student_cli import COMMANDS as STUDENT

    return [grade, *GRADEBOOK, *LMS, *STUDENT, *INSTRUCTOR]


COMMANDS = _commands()
