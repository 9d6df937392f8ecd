"""The student CLI driven through click's CliRunner against the real server on loopback:
take (format checks at once, autosave, resume after an interruption), submit (``--json``
for scripts, never twice), status; take offline; serve for real in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from alignquiz.cli import _Root
from grader.student_cli import COMMANDS
from tests.server.server_helpers import TOKENS, key_fields

ESSAY = ["The policy learns to exploit the proxy reward", "so the gold reward falls.", ""]


@pytest.fixture(scope="module")
def cli() -> click.Group:
    """A root like ``alignquiz``'s (errors as one line, exit code 2) with these commands."""
    return _Root(name="alignquiz", commands={c.name: c for c in COMMANDS})


def _invoke(cli, args, text: str = "", cwd=None):
    return CliRunner().invoke(cli, args, input=text, catch_exceptions=False)


def _lines(quiz, sid: str, typo: bool = True) -> list[list[str]]:
    """What a student types for each item of their paper, in order (a typo first)."""
    out = []
    for v in quiz.variants[sid]:
        if v.kind == "numeric":
            out.append((["one point two"] if typo else []) + [v.answer.display()])
        elif v.kind == "multiple_choice":
            out.append((["Z"] if typo else []) + [", ".join(o.label for o in v.options
                                                           if o.correct)])  # fmt: skip
        else:
            out.append(ESSAY)
    return out


def test_take_checks_saves_resumes_and_submits(cli, live, book, quiz, tmp_path) -> None:
    save = tmp_path / "mine.json"
    base = ["take", "--server", live, "--token", TOKENS["s001"], "--save", str(save)]
    typed = _lines(quiz, "s001")
    first = _invoke(cli, base, "\n".join(typed[0] + typed[1]) + "\n")  # then input ends
    assert first.exit_code == 1, first.output
    assert "cannot read that" in first.output and "costs nothing" in first.output
    assert "run take again" in first.output
    saved = json.loads(save.read_text())
    ids = [v.item_id for v in quiz.variants["s001"]]
    assert list(saved["answers"]) == ids[:2]
    assert saved["answers"][ids[0]] == typed[0][-1]
    rest = ["", ""] + typed[2] + typed[3] + ["y"]  # Enter keeps the first two answers
    second = _invoke(cli, base, "\n".join(rest) + "\n")
    assert second.exit_code == 0, second.output
    assert "saved answer" in second.output and "submission" in second.output
    saved = json.loads(save.read_text())
    assert list(saved["answers"]) == ids and saved["pending"] is None
    assert saved["answers"][ids[3]] == "\n".join(ESSAY[:2])
    assert len(saved["submitted"]) == 1
    stored = book.submissions(quiz.quiz_id, "s001")
    assert len(stored) == 1 and stored[0].answers == saved["answers"]
    assert not list(tmp_path.glob(".mine.json.*"))  # no temporary file left behind


def test_take_offline_from_quiz_json(cli, quiz_dir, quiz, tmp_path) -> None:
    save = tmp_path / "offline.json"
    typed = [line for item in _lines(quiz, "s002", typo=False) for line in item]
    done = _invoke(cli, ["take", "--quiz", str(quiz_dir / "quiz.json"), "--student", "s002",
                         "--save", str(save)], "\n".join(typed) + "\n")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "offline" in done.output
    assert len(json.loads(save.read_text())["answers"]) == len(quiz.item_ids)
    wrong = _invoke(cli, ["take", "--quiz", str(quiz_dir), "--student", "nobody"])
    assert wrong.exit_code == 2 and "no paper for student" in wrong.output


def test_submit_json_for_scripts_is_idempotent_with_an_id(
    cli, live, book, quiz, tmp_path, good_answers
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(good_answers("s002", essay=False)))
    args = ["submit", "--server", live, "--token", TOKENS["s002"], "--answers", str(answers),
            "--id", "script-1", "--json"]  # fmt: skip
    first = _invoke(cli, args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert set(out) == {"submission_id", "status", "score", "max"}
    assert out["status"] == "graded" and out["score"] > 0
    again = json.loads(_invoke(cli, args).output)
    assert again == out and len(book.submissions(quiz.quiz_id, "s002")) == 1
    status = _invoke(cli, ["status", "--server", live, "--token", TOKENS["s002"], "--json"])
    state = json.loads(status.output)
    assert state["attempts_used"] == 1 and state["latest"]["submission_id"] == out["submission_id"]
    assert key_fields(state) == []
    text = _invoke(cli, ["status", "--server", live, "--token", TOKENS["s002"]])
    assert "attempts: 1 used" in text.output and "Correct." in text.output


def test_submit_refuses_malformed_answers_locally_and_errors_are_one_line(
    cli, live, book, quiz, tmp_path
) -> None:
    answers = tmp_path / "bad.json"
    answers.write_text(json.dumps({"kl-penalty-token": "twelve", "clip-min-purpose": "A"}))
    base = ["submit", "--server", live, "--token", TOKENS["s003"], "--answers", str(answers)]
    as_json = _invoke(cli, base + ["--json"])
    assert as_json.exit_code == 2
    error = json.loads(as_json.output)["error"]
    assert (error["code"], error["field"]) == ("format_error", "answers.kl-penalty-token")
    plain = _invoke(cli, base)
    assert plain.exit_code == 2 and plain.output.count("\n") == 1
    assert "no attempt used" in plain.output
    stranger = _invoke(cli, ["status", "--server", live, "--token", "n" * 40])
    assert stranger.exit_code == 2 and "unknown or revoked token" in stranger.output
    missing = _invoke(cli, ["submit", "--server", live, "--token", TOKENS["s003"]])
    assert missing.exit_code == 2 and "run 'alignquiz take' first" in missing.output
    assert book.submissions(quiz.quiz_id) == []


def test_a_lost_answer_then_a_rerun_of_submit_replays(live, book, quiz, tmp_path, good_answers):
    """submit keeps its client id in the save file until the server has answered."""
    from grader.answer_sheet import load_sheet, send, write_atomic
    from grader.api import PaperItem
    from grader.client import QuizClient, ServerUnreachable
    from tests.server.test_client import LoseAnswers

    with QuizClient(live, TOKENS["s001"]) as client:
        paper = client.quiz()
    items = [PaperItem.model_validate(i) for i in paper["items"]]
    path = tmp_path / "sheet.json"
    sheet = load_sheet(path, paper)
    sheet["answers"] = good_answers(essay=False)
    write_atomic(path, sheet)
    with QuizClient(live, TOKENS["s001"], transport=LoseAnswers(9), retries=1,
                    backoff_s=0.01) as lossy, pytest.raises(ServerUnreachable):  # fmt: skip
        send(lossy, paper, items, path, None)
    assert json.loads(path.read_text())["pending"]["client_id"]
    with QuizClient(live, TOKENS["s001"]) as client:
        out = send(client, paper, items, path, None)
    assert out["replayed"] is True
    assert len(book.submissions(quiz.quiz_id, "s001")) == 1


def test_submit_to_file_offline_is_signed_and_a_tampered_file_is_refused(
    cli, quiz_dir, quiz, tmp_path, good_answers
) -> None:
    from grader.access import read_tokens_csv
    from grader.answer_sheet import TamperedSubmissionError, verify_signed

    answers, out = tmp_path / "a.json", tmp_path / "hand-in.json"
    answers.write_text(json.dumps(good_answers("s002")))
    args = ["submit", "--to-file", str(out), "--quiz", str(quiz_dir), "--student", "s002",
            "--token", TOKENS["s002"], "--answers", str(answers), "--json"]  # fmt: skip
    done = _invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["answers"] == len(quiz.item_ids)
    tokens = read_tokens_csv(quiz_dir / "private" / "tokens.csv")
    doc = json.loads(out.read_text())
    assert verify_signed(doc, tokens)["answers"] == good_answers("s002")
    assert doc["quiz_id"] == quiz.quiz_id and doc["student_id"] == "s002"
    altered = [
        {**doc, "answers": {**doc["answers"], "kl-penalty-token": "99"}},
        {**doc, "student_id": "s003"},
        {**doc, "late": True},
        {k: v for k, v in doc.items() if k != "signature"},
    ]
    for bad in altered:
        with pytest.raises(TamperedSubmissionError):
            verify_signed(bad, tokens)
    with pytest.raises(TamperedSubmissionError, match="signature"):
        verify_signed(doc, {**tokens, "s002": TOKENS["s001"]})
    answers.write_text(json.dumps({"kl-penalty-token": "lots"}))
    refused = _invoke(cli, args)
    assert refused.exit_code == 2 and json.loads(refused.output)["error"]["code"] == "format_error"


def test_serve_writes_the_openapi_spec(cli) -> None:
    done = _invoke(cli, ["serve", "--openapi", "-"])
    assert done.exit_code == 0
    assert "/api/v1/submissions" in json.loads(done.output)["paths"]


def test_serve_runs_for_real_and_loads_the_quiz_and_its_tokens(quiz_dir, tmp_path) -> None:
    from grader.client import QuizClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import sys; from grader.student_cli import serve; "
            "serve(sys.argv[1:], prog_name='alignquiz serve')")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--db", str(tmp_path / "fresh.db"), "--quiz", str(quiz_dir),
         "--port", str(port), "--essays", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        with QuizClient(url, TOKENS["s003"], retries=0) as client:
            while True:
                try:
                    paper = client.quiz()
                    break
                except Exception:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)
            assert paper["student_id"] == "s003"
            assert client.submit({"clip-min-purpose": "A"})["attempt"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output


def test_importing_the_commands_loads_no_heavy_library() -> None:
    code = ("import sys, grader.student_cli, grader.client; "
            "print(sorted(m for m in ('fastapi', 'httpx', 'uvicorn', 'sqlalchemy', 'torch', "
            "'sentence_transformers', 'starlette') if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})  # fmt: skip
    assert done.stdout.strip() == "[]", done.stderr
