"""A server killed with SIGKILL in the middle of a load, then restarted: every
acknowledged submission is there, none twice, and the clients' retries (same client
ids) carry them through the outage."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader.client import ClientError, QuizClient
from tests.server.server_helpers import TOKENS


def _start(db: str, quiz_dir: Path, port: int) -> subprocess.Popen:
    code = ("import sys; from grader.student_cli import serve; "
            "serve(sys.argv[1:], prog_name='alignquiz serve')")  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", code, "--db", db, "--quiz", str(quiz_dir), "--port", str(port),
         "--essays", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip


def _wait_up(url: str, proc: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not come up")


def test_sigkill_mid_load_loses_and_duplicates_nothing(tmp_path, quiz_dir, quiz) -> None:
    from grader.store import Gradebook

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url, db = f"http://127.0.0.1:{port}", str(tmp_path / "kill.db")
    acks: list[tuple[str, str, int]] = []
    failures: list[str] = []
    stop_at = time.monotonic() + 60

    def student(sid: str, thread: int) -> None:
        # retries spaced to outlast a restart (about 2 s)
        with QuizClient(url, TOKENS[sid], retries=12, backoff_s=0.1, timeout_s=10) as client:
            for n in range(15):
                cid = f"{sid}-t{thread}-n{n}"
                try:
                    out = client.submit({"clip-min-purpose": "A"}, cid)
                except ClientError as exc:
                    failures.append(f"{cid}: {exc}")
                    return
                acks.append((sid, cid, out["submission_id"]))
                if time.monotonic() > stop_at:
                    return

    proc = _start(db, quiz_dir, port)
    try:
        _wait_up(url, proc)
        threads = [threading.Thread(target=student, args=(s, t)) for s in TOKENS for t in range(2)]
        for t in threads:
            t.start()
        while len(acks) < 20 and not failures and time.monotonic() < stop_at:
            time.sleep(0.01)  # until the middle of the load
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        acked_before = len(acks)
        proc = _start(db, quiz_dir, port)
        _wait_up(url, proc)
        for t in threads:
            t.join(90)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert failures == []
    assert acked_before < len(acks) == 6 * 15  # the load went on after the restart
    with Gradebook(db).open() as book:
        stored = book.submissions(quiz.quiz_id)
    by_client = {(s.student_id, s.client_id): s.id for s in stored}
    assert len(by_client) == len(stored)  # no client id twice
    assert {(sid, cid): sub for sid, cid, sub in acks} == by_client  # all acked, nothing else
    for sid in TOKENS:
        attempts = sorted(s.attempt_no for s in stored if s.student_id == sid)
        assert attempts == list(range(1, len(attempts) + 1))
