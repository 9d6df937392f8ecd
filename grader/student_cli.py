"""The student's commands (``take``, ``submit``, ``status``) and the instructor's ``serve``.

::

    alignquiz take   --server URL --token T        (or --quiz quiz.json --student ID)
    alignquiz submit --server URL --token T [--answers FILE.json] [--id CLIENT_ID] [--json]
    alignquiz submit --to-file OUT.json --quiz quiz.json --student ID --token T   (offline)
    alignquiz status --server URL --token T [--json]
    alignquiz serve  --db course.db --quiz DIR [--host 127.0.0.1 --port 8000]

``take`` shows each item (math as readable text), checks the format of every answer
at once (a malformed number costs nothing: it is asked again) and saves every answer
to ``answers-QUIZ-STUDENT.json`` (atomically: a crash or Ctrl-C loses nothing), so
running ``take`` again resumes where it stopped. ``submit`` sends the saved answers
(or ``--answers FILE``: ``{item_id: answer}``) once: the client id stays in the save
file until the server has answered, so re-running after a lost connection replays
instead of spending a second attempt (:mod:`grader.answer_sheet`). ``submit --json``
prints ``{"submission_id", "status", "score", "max"}``, or ``{"error": {...}}`` with
exit code 2. ``--server`` and ``--token`` default to ``$ALIGNQUIZ_SERVER`` and
``$ALIGNQUIZ_TOKEN``.

Mounted by ``alignquiz.cli`` through ``COMMANDS``. Only click is imported here at module
level; httpx, FastAPI and uvicorn come in with the command that needs them.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from grader.gradebook_cli import db_option

__all__ = ["COMMANDS", "serve", "status", "submit", "take"]

server_option = click.option("--server", envvar="ALIGNQUIZ_SERVER", show_envvar=True,
                             help="The submission server, e.g. http://127.0.0.1:8000.")  # fmt: skip
token_option = click.option("--token", envvar="ALIGNQUIZ_TOKEN", show_envvar=True,
                            help="Your access token.")  # fmt: skip
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


# --------------------------------------------------------------------------- the paper
def _client(server: str | None, token: str | None):
    from grader.client import QuizClient

    if not server or not token:
        raise click.UsageError("give --server and --token (or set ALIGNQUIZ_SERVER and "
                               "ALIGNQUIZ_TOKEN)")  # fmt: skip
    return QuizClient(server, token)


def _offline_paper(quiz_file: str, student: str | None) -> dict[str, Any]:
    from questions.errors import QuizError
    from questions.variants import StudentQuiz

    path = Path(quiz_file)
    path = path / "quiz.json" if path.is_dir() else path
    if not student:
        raise click.UsageError("--quiz needs --student (your student id)")
    try:
        view = StudentQuiz.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise QuizError(f"not a student quiz file: {str(exc).splitlines()[0]}",
                        path=str(path)) from None  # fmt: skip
    for paper in view.papers:
        if paper.student_id == student:
            return {"quiz_id": view.quiz_id, "title": view.title, "student_id": student,
                    "items": [i.model_dump() for i in paper.items]}  # fmt: skip
    raise QuizError(f"no paper for student {student!r}", path=str(path))


def _items(paper: dict[str, Any]) -> list:
    from grader.api import PaperItem

    return [PaperItem.model_validate(i) for i in paper["items"]]


# --------------------------------------------------------------------------- take
def _say(console, text: str, style: str | None = None) -> None:
    """One message, never wrapped (a path stays one piece to copy)."""
    from rich.text import Text

    console.print(Text(text, style=style or ""), soft_wrap=True)


def _reflow(markdown: str) -> str:
    r"""Plain text of a prompt with its source line breaks joined into paragraphs (list
    items keep their own lines), so the terminal wraps it.

    >>> _reflow("A reward\nof $\\beta$.\n\n- one\n- two")
    'A reward of β.\n\n- one\n- two'
    """
    import re

    from questions.render import to_plain_text

    paragraphs = []
    for block in re.split(r"\n\s*\n", to_plain_text(markdown).strip()):
        lines: list[str] = []
        for line in block.splitlines():
            if lines and not re.match(r"\s*([-*+]|\d+[.)])\s", line):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _points(x: float) -> str:
    return f"{round(x, 2):g}"


def _show(console, n: int, total: int, item, saved: str | None) -> None:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    parts = [Text(_reflow(item.prompt))]
    exhibit = getattr(item, "exhibit", None)
    if exhibit is not None:  # evidence from real simulator runs
        if exhibit.caption:
            parts += [Text(""), Text(_reflow(exhibit.caption), style="italic")]
        if exhibit.figure:
            parts.append(Text(f"[figure {exhibit.figure}: open your HTML paper to see it]",
                              style="dim"))  # fmt: skip
        for group in exhibit.samples:
            samples = Table(title=f"samples at step {group.step}", show_header=False)
            for text in group.texts:
                samples.add_row(Text(text))
            parts += [Text(""), samples]
    if item.options:
        options = Table.grid(padding=(0, 1))
        for option in item.options:
            options.add_row(Text(f"  {option.label})"), Text(_reflow(option.text)))
        parts += [Text(""), options]
    body = Group(*parts)
    worth = f"{_points(item.points)} point{'' if item.points == 1 else 's'}"
    head = f"{n}/{total}  {_reflow(item.title)}  ({worth})"
    console.print(Panel(body, title=Text(head), title_align="left"))
    if saved is not None:
        _say(console, f"saved answer: {saved}  (Enter keeps it)", style="dim")


def _hint(item) -> str:
    if item.kind == "numeric":
        return "a number (0.42, -1.2e-1, 6/5)"
    if item.kind == "multiple_choice":
        labels = ", ".join(o.label for o in item.options)
        return f"labels ({labels}), e.g. A, C" if item.multiple else f"one of {labels}"
    limit = f" (at most {item.max_words} words)" if item.max_words else ""
    return f"your answer{limit}; end with an empty line"


def _ask(console, item, saved: str | None) -> str | None:
    """Prompt until the answer can be read; Enter keeps ``saved`` (None: skipped)."""
    from grader.api import parse_answer
    from grader.parse import FormatError

    while True:
        raw = click.prompt(f"answer: {_hint(item)}", default="", show_default=False)
        if item.kind == "essay" and raw.strip():
            lines = [raw]
            while line := click.prompt("", default="", show_default=False, prompt_suffix=""):
                lines.append(line)
            raw = "\n".join(lines)
        if not raw.strip():
            return saved
        parsed = parse_answer(item, raw, item.max_words)
        if not isinstance(parsed, FormatError):
            return raw
        _say(console, f"cannot read that: {parsed.message} (this costs nothing)", style="red")


@click.command("take")
@server_option
@token_option
@click.option("--quiz", "quiz_file", type=click.Path(exists=True),
              help="Offline: the quiz.json (or quiz folder) you were given.")  # fmt: skip
@click.option("--student", help="Offline: your student id.")
@click.option("--save", type=click.Path(dir_okay=False),
              help="The answers file (default: answers-QUIZ-STUDENT.json here).")  # fmt: skip
def take(server, token, quiz_file, student, save) -> None:
    """Answer your paper item by item; every answer is saved at once, and running take
    again resumes. Enter keeps a saved answer (or skips an item)."""
    from rich.console import Console

    client = None if quiz_file else _client(server, token)
    try:
        paper = client.quiz() if client else _offline_paper(quiz_file, student)
        _take(Console(highlight=False), client, paper, save)
    finally:
        if client is not None:
            client.close()
    if client is None:
        click.echo(f"to hand it in: alignquiz submit --to-file hand-in.json --quiz {quiz_file} "
                   f"--student {student} --token YOUR_TOKEN (offline)")  # fmt: skip


def _take(console, client, paper: dict[str, Any], save: str | None) -> None:
    """Ask every item of ``paper``, saving each answer; offer to submit at the end."""
    from grader.answer_sheet import load_sheet, send, sheet_path, write_atomic

    path = sheet_path(save, paper)
    sheet = load_sheet(path, paper)
    items = _items(paper)
    answers: dict[str, str] = sheet["answers"]
    _say(console, f"{paper['title']} ({paper['student_id']}): {len(items)} items; answers "
                  f"are saved to {path}", style="bold")  # fmt: skip
    try:
        for n, item in enumerate(items, 1):
            _show(console, n, len(items), item, answers.get(item.item_id))
            answer = _ask(console, item, answers.get(item.item_id))
            if answer is not None and answer != answers.get(item.item_id):
                answers[item.item_id] = answer
                write_atomic(path, sheet)
    except click.Abort:
        _say(console, f"\nstopped: {len(answers)} answers are saved in {path}; run take "
                      "again to go on")  # fmt: skip
        sys.exit(1)
    write_atomic(path, sheet)
    _say(console, f"{len(answers)} of {len(items)} items answered, saved in {path}")
    if client is not None:
        if click.confirm("submit now?", default=False):
            _print_result(console, send(client, paper, items, path, None), items)
        else:
            _say(console, f"submit with: alignquiz submit --server {client.server} "
                          f"--token YOUR_TOKEN --answers {path}")  # fmt: skip


# --------------------------------------------------------------------------- submit
def _print_result(console, result: dict[str, Any], items: list) -> None:
    from questions.render import to_plain_text

    total = _points(result["max"])
    score = "" if result["score"] is None else f": {_points(result['score'])}/{total}"
    again = " (already stored: this is its result)" if result.get("replayed") else ""
    _say(
        console,
        f"submission {result['submission_id']}, attempt {result['attempt']}: "
        f"{result['status']}{score}{again}",
        style="bold",
    )
    titles = {i.item_id: i.title for i in items}
    for row in result["items"]:
        head = f"  {titles.get(row['item_id'], row['item_id'])}: "
        if row["status"] != "graded":
            _say(console, head + row["status"])
            continue
        _say(
            console,
            f"{head}{_points(row['points'])}/{_points(row['max_points'])} {row['verdict']}",
        )
        for line in row["feedback"] or []:
            _say(console, f"      {to_plain_text(line)}", style="dim")
    if result["status"] == "held":
        _say(console, "feedback is shown after the deadline: see alignquiz status")
    elif result["status"] == "pending":
        _say(console, "some items await grading: see alignquiz status later")


def _fail_json(exc) -> None:
    click.echo(json.dumps(exc.as_json()))
    sys.exit(2)


def _answers_path(answers_file: str | None, paper: dict[str, Any]) -> Path:
    from grader.answer_sheet import sheet_path
    from grader.client import ClientError

    path = Path(answers_file) if answers_file else sheet_path(None, paper)
    if not path.exists():
        raise ClientError(f"no answers at {path}: run 'alignquiz take' first or give --answers",
                          code="invalid_input", field="answers")  # fmt: skip
    return path


def _to_file(out: str, quiz_file: str | None, student: str | None, token: str | None,
             answers_file: str | None, client_id: str | None) -> dict[str, Any]:  # fmt: skip
    """Offline: check the answers against the paper in quiz.json and write them, signed
    with the token, to ``out`` for the instructor to import."""
    from grader.answer_sheet import answers_from, sign_submission, write_atomic
    from grader.client import new_client_id

    if not quiz_file or not token:
        raise click.UsageError("--to-file needs --quiz, --student and --token")
    paper = _offline_paper(quiz_file, student)
    answers, _ = answers_from(_answers_path(answers_file, paper), paper, _items(paper))
    client_id = client_id or new_client_id()
    made = datetime.now(UTC).isoformat()
    doc = sign_submission(paper["quiz_id"], paper["student_id"], client_id, answers, token, made)
    write_atomic(Path(out), doc)
    return {"file": out, "client_id": client_id, "answers": len(answers)}


@click.command("submit")
@server_option
@token_option
@click.option("--answers", "answers_file", type=click.Path(exists=True, dir_okay=False),
              help="{item_id: answer} JSON, or take's save file (the default).")  # fmt: skip
@click.option("--id", "client_id", help="Your id for this attempt (retrying it is safe).")
@click.option("--to-file", "to_file", type=click.Path(dir_okay=False),
              help="Offline: write a signed submission file to hand in (needs --quiz, "
              "--student and --token) instead of sending it.")  # fmt: skip
@click.option("--quiz", "quiz_file", type=click.Path(exists=True),
              help="Offline: the quiz.json (or quiz folder) you were given.")  # fmt: skip
@click.option("--student", help="Offline: your student id.")
@json_option
def submit(server, token, answers_file, client_id, to_file, quiz_file, student, as_json) -> None:
    """Send your saved answers once (a retry never spends a second attempt) and show the
    graded feedback when it is released; or, offline, write them to a signed file."""
    from rich.console import Console

    from grader.answer_sheet import send
    from grader.client import ClientError

    try:
        if to_file:
            done = _to_file(to_file, quiz_file, student, token, answers_file, client_id)
            text = f"wrote {done['file']}: {done['answers']} answers, signed; hand it in"
            click.echo(json.dumps(done) if as_json else text)
            return
        with _client(server, token) as client:
            paper = client.quiz()
            items = _items(paper)
            result = send(client, paper, items, _answers_path(answers_file, paper), client_id)
    except ClientError as exc:
        if as_json:
            _fail_json(exc)
        raise
    if as_json:
        click.echo(json.dumps({k: result[k] for k in ("submission_id", "status", "score", "max")}))
    else:
        _print_result(Console(highlight=False), result, items)


@click.command("status")
@server_option
@token_option
@json_option
def status(server, token, as_json) -> None:
    """Attempts used and left, the deadline, and your latest submission's result."""
    from rich.console import Console

    from grader.client import ClientError

    try:
        with _client(server, token) as client:
            state = client.status()
            subs = state["submissions"]
            latest = client.submission(subs[-1]["submission_id"]) if subs else None
            items = _items(client.quiz()) if latest and not as_json else []
    except ClientError as exc:
        if as_json:
            _fail_json(exc)
        raise
    if as_json:
        click.echo(json.dumps({**state, "latest": latest}))
        return
    console = Console(highlight=False)
    left = "no limit" if state["attempts_left"] is None else f"{state['attempts_left']} left"
    deadline = state["deadline"] or "none"
    _say(
        console,
        f"quiz {state['quiz_id']} ({state['student_id']}): "
        f"attempts: {state['attempts_used']} used, {left}; deadline: "
        f"{deadline}; {'open' if state['open'] else 'closed'}",
    )
    if latest is not None:
        _print_result(console, latest, items)


# --------------------------------------------------------------------------- serve
@click.command("serve")
@db_option
@click.option("--quiz", "quiz_dir", type=click.Path(file_okay=False),
              help="A quiz folder to import (with private/tokens.csv) before serving.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--max-body", type=click.IntRange(min=1024), default=None,
              help="Largest request body in bytes (default 512 KiB).")  # fmt: skip
@click.option("--essays", type=click.Choice(["auto", "off"]), default="auto", show_default=True,
              help="auto: grade essays on submit if the model is installed; off: leave them "
              "pending for 'alignquiz grade'.")  # fmt: skip
@click.option("--openapi", "openapi_out", type=click.Path(dir_okay=False),
              help="Write the OpenAPI spec to this file ('-': stdout) and exit.")  # fmt: skip
def serve(db, quiz_dir, host, port, max_body, essays, openapi_out) -> None:
    """Run the submission server: students fetch their papers, submit, read feedback."""
    from grader.server import DEFAULT_MAX_BODY, create_app, write_openapi

    if openapi_out:
        write_openapi(openapi_out)
        return
    app = create_app(db, quiz_dir=quiz_dir, max_body_bytes=max_body or DEFAULT_MAX_BODY,
                     essays=essays)  # fmt: skip
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")


COMMANDS = [take, submit, status, serve]
