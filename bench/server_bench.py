"""Benchmark the submission server: concurrent students submitting through ``serve``.

    python bench/server_bench.py [--clients 50] [--each 20] [--db URL] [--kills 2]

Starts ``alignquiz serve`` (a subprocess, uvicorn, essays off) on a loopback port over a
fresh SQLite file (or ``--db``, e.g. a PostgreSQL URL), with a quiz for ``--clients``
students; each student is one thread with its own client submitting ``--each`` times
(numeric + multiple choice, graded on submit). With ``--kills N`` the server is killed
with SIGKILL N times mid-run and restarted; the clients' retries (same client ids) carry
them through. Prints submissions per second, p50/p99 latency, and the lost (acknowledged
but not stored) and duplicated (one client id stored twice) submissions: both must be 0.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ITEMS = ["kl-penalty-token", "clip-min-purpose", "ratio-token-facts"]


def make_quiz(root: Path, n: int) -> tuple[Path, dict[str, str]]:
    from questions.cli import build_quiz

    roster = root / "roster.csv"
    roster.write_text(
        "student_id,name,email\n"
        + "".join(f"b{i:04d},Student {i},b{i}@example.edu\n" for i in range(n)),
        encoding="utf-8",
    )
    folder = build_quiz(str(roster), 5, str(root / "quiz"), ITEMS, (), "bench", force=True)
    tokens = {f"b{i:04d}": secrets.token_urlsafe(32) for i in range(n)}
    (folder / "private" / "tokens.csv").write_text(
        "student_id,token\n" + "".join(f"{k},{v}\n" for k, v in tokens.items()), encoding="utf-8"
    )
    return folder, tokens


def start(db: str, quiz_dir: Path, port: int) -> subprocess.Popen:
    code = ("import sys; from grader.student_cli import serve; "
            "serve(sys.argv[1:], prog_name='alignquiz serve')")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--db", db, "--quiz", str(quiz_dir), "--port", str(port),
         "--essays", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).is_success:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--each", type=int, default=20)
    parser.add_argument("--db", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--kills", type=int, default=0)
    args = parser.parse_args()

    from grader.client import ClientError, QuizClient
    from grader.store import Gradebook
    from questions.quizdir import read_quiz

    root = Path(tempfile.mkdtemp(prefix="serverbench-"))
    quiz_dir, tokens = make_quiz(root, args.clients)
    quiz = read_quiz(quiz_dir)
    answers = {}
    for sid, variants in quiz.variants.items():
        answers[sid] = {v.item_id: (v.answer.display() if v.kind == "numeric" else
                                    ", ".join(o.label for o in v.options if o.correct))
                        for v in variants}  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = args.db or str(root / "bench.db")
    url = f"http://127.0.0.1:{port}"
    proc = start(db, quiz_dir, port)
    acks: list[tuple[str, str, int]] = []
    latencies: list[float] = []
    failures: list[str] = []
    go = threading.Event()

    def student(sid: str) -> None:
        with QuizClient(url, tokens[sid], retries=30, backoff_s=0.1, timeout_s=30) as client:
            go.wait()
            for n in range(args.each):
                cid = f"{sid}-{n}"
                began = time.perf_counter()
                try:
                    out = client.submit(answers[sid], cid)
                except ClientError as exc:
                    failures.append(f"{cid}: {exc}")
                    return
                latencies.append(time.perf_counter() - began)
                acks.append((sid, cid, out["submission_id"]))

    threads = [threading.Thread(target=student, args=(sid,)) for sid in tokens]
    for t in threads:
        t.start()
    total = args.clients * args.each
    started = time.perf_counter()
    go.set()
    for k in range(args.kills):
        while len(acks) < total * (k + 1) / (args.kills + 1):
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start(db, quiz_dir, port)
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    with Gradebook(db).open() as book:
        stored = book.submissions(quiz.quiz_id)
        pending = len(book.pending(quiz.quiz_id))
    keys = [(s.student_id, s.client_id) for s in stored]
    stored_ids = {s.id for s in stored}
    lost = sum(1 for _, _, sub in acks if sub not in stored_ids)
    duplicated = len(keys) - len(set(keys))
    lat = sorted(latencies)
    print(
        f"backend: {'sqlite' if args.db is None else args.db.split(':')[0]}; "
        f"{args.clients} clients x {args.each} submissions; kills: {args.kills}"
    )
    print(
        f"acknowledged {len(acks)}/{total} in {seconds:.1f} s: {len(acks) / seconds:.0f} "
        f"submissions/s; p50 {1000 * statistics.median(lat):.0f} ms, "
        f"p99 {1000 * lat[int(0.99 * (len(lat) - 1))]:.0f} ms"
    )
    print(
        f"stored {len(stored)}; lost {lost}; duplicated {duplicated}; ungraded {pending}; "
        f"client failures {len(failures)}"
    )
    if lost or duplicated or failures or len(acks) != total:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
