"""Many writers at once, on SQLite and PostgreSQL: threads and separate processes.

Attempt limits hold, a client id never makes two rows, a regrade never reuses a version,
two graders of pending work never add two versions, and every acknowledged submission is
stored exactly once.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.db import AttemptsExhaustedError, DatabaseBusyError
from grader.result import GradeResult
from grader.store import Gradebook

LIMIT = 5
THREADS = 24
CLIENT_IDS = 8


def _race(db_url: str, quiz_id: str, student_id: str, item_id: str, workers: int, offset: int):
    """``workers`` threads submit at once (client id = index % CLIENT_IDS); each returns
    (client id, submission id or None when refused)."""
    barrier = threading.Barrier(workers)
    with Gradebook(db_url).open() as book:

        def one(i: int) -> tuple[str, int | None]:
            client = f"c-{(offset + i) % CLIENT_IDS}"
            barrier.wait()
            try:
                made = book.submit(student_id, quiz_id, client, {item_id: client},
                                   max_attempts=LIMIT)  # fmt: skip
            except AttemptsExhaustedError:
                return client, None
            return client, made.id

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(workers)))


def _check_race(book, quiz, student_id: str, outcomes) -> None:
    stored = book.submissions(quiz.quiz_id, student_id)
    assert sorted(s.attempt_no for s in stored) == list(range(1, LIMIT + 1))
    assert len({s.client_id for s in stored}) == LIMIT
    by_client = {s.client_id: s.id for s in stored}
    for client, sub_id in outcomes:  # acknowledged means stored, under the same row
        if sub_id is not None:
            assert by_client[client] == sub_id
        else:
            assert client not in by_client
    assert {s.answers[quiz.item_ids[0]] for s in stored} == set(by_client)


def test_threads_never_exceed_the_attempt_limit_nor_duplicate_a_client_id(
    book, db_url, small_quiz
) -> None:
    book.import_quiz(small_quiz)
    sid, item = small_quiz.students[0].student_id, small_quiz.item_ids[0]
    outcomes = _race(db_url, small_quiz.quiz_id, sid, item, THREADS, 0)
    _check_race(book, small_quiz, sid, outcomes)


def _process_race(args):
    return _race(*args)


def test_processes_never_exceed_the_attempt_limit(book, db_url, small_quiz) -> None:
    book.import_quiz(small_quiz)
    sid, item = small_quiz.students[1].student_id, small_quiz.item_ids[0]
    jobs = [(db_url, small_quiz.quiz_id, sid, item, 4, 3 * n) for n in range(4)]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        outcomes = [o for part in pool.map(_process_race, jobs) for o in part]
    _check_race(book, small_quiz, sid, outcomes)


def test_concurrent_regrades_get_distinct_versions(book, small_quiz) -> None:
    book.import_quiz(small_quiz)
    sid, item = small_quiz.students[0].student_id, small_quiz.item_ids[0]
    sub = book.submit(sid, small_quiz.quiz_id, "c-1", {item: "0.5"})
    worth = small_quiz.variants[sid][0].points
    barrier = threading.Barrier(12)

    def regrade(i: int) -> int:
        barrier.wait()
        result = GradeResult.of(i / 11, points=worth)
        made = book.record_grade(sub.id, item, result, grader="exact", grader_version=str(i))
        return made.version

    with ThreadPoolExecutor(12) as pool:
        versions = list(pool.map(regrade, range(12)))
    assert sorted(versions) == list(range(1, 13))
    history = book.grade_history(sub.id, item)
    assert [g.version for g in history] == list(range(1, 13))
    assert book.latest_grades(small_quiz.quiz_id)[0].version == 12


def test_concurrent_graders_of_pending_work_add_one_version(book, small_quiz) -> None:
    """``alignquiz grade`` and the server grading one submission at once both write with
    ``new_only``: whoever commits first, every item ends with exactly one grade."""
    book.import_quiz(small_quiz)
    sid, items = small_quiz.students[0].student_id, small_quiz.item_ids
    sub = book.submit(sid, small_quiz.quiz_id, "c-1", {items[0]: "0.5"})
    points = {v.item_id: v.points for v in small_quiz.variants[sid]}
    barrier = threading.Barrier(12)

    def grade(i: int) -> list:
        results = {item: GradeResult.of(i / 11, points=points[item]) for item in items}
        barrier.wait()
        return book.record_grades(sub.id, results, grader="exact", grader_version=str(i),
                                  new_only=True)  # fmt: skip

    with ThreadPoolExecutor(12) as pool:
        made = [g for part in pool.map(grade, range(12)) for g in part]
    history = book.grade_history(sub.id)
    assert [(g.item_id, g.version) for g in history] == [(i, 1) for i in sorted(items)]
    assert sorted((g.item_id, g.id) for g in made) == [(g.item_id, g.id) for g in history]


def test_throughput_with_nothing_lost_and_nothing_twice(book, db_url, small_quiz) -> None:
    """16 threads, each a stream of students submitting (with one retry of the same
    client id, as a client does after a timeout): every acknowledgement is one row."""
    book.import_quiz(small_quiz)
    students = [s.student_id for s in small_quiz.students]
    item, per_thread, workers = small_quiz.item_ids[0], 25, 16

    def stream(t: int) -> list[int]:
        acked = []
        for n in range(per_thread):
            sid, client = students[(t + n) % len(students)], f"t{t}-n{n}"
            made = book.submit(sid, small_quiz.quiz_id, client, {item: f"{t}.{n}"})
            again = book.submit(sid, small_quiz.quiz_id, client, {item: f"{t}.{n}"})
            assert again.replayed and again.id == made.id
            acked.append(made.id)
        return acked

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        acked = [i for part in pool.map(stream, range(workers)) for i in part]
    seconds = time.perf_counter() - start
    stored = book.submissions(small_quiz.quiz_id)
    assert sorted(s.id for s in stored) == sorted(acked)
    assert len(acked) == workers * per_thread == len(set(acked))
    per_student = Counter(s.student_id for s in stored)
    for sid in students:
        attempts = sorted(s.attempt_no for s in stored if s.student_id == sid)
        assert attempts == list(range(1, per_student[sid] + 1))
    rate = len(acked) / seconds
    print(f"\n{book.engine.dialect.name}: {len(acked)} submissions (+ as many replays) "
          f"by {workers} threads in {seconds:.2f} s: {rate:.0f} submissions/s")  # fmt: skip


def test_sqlite_writers_wait_for_the_lock_then_give_up_cleanly(tmp_path, small_quiz) -> None:
    """A writer holds BEGIN IMMEDIATE: readers go on (WAL), another writer waits its
    busy timeout and is refused with one line, storing nothing."""
    from grader.db import write_tx

    path = str(tmp_path / "locked.db")
    with Gradebook(path).init() as book:
        book.import_quiz(small_quiz)
    sid, item = small_quiz.students[0].student_id, small_quiz.item_ids[0]
    with Gradebook(path, busy_timeout_s=0.3).open() as waiting:
        with write_tx(Gradebook(path).open().engine):
            assert waiting.submissions(small_quiz.quiz_id) == []  # reads are not blocked
            start = time.perf_counter()
            with pytest.raises(DatabaseBusyError, match="locked"):
                waiting.submit(sid, small_quiz.quiz_id, "c-1", {item: "1"})
            assert time.perf_counter() - start >= 0.25
        made = waiting.submit(sid, small_quiz.quiz_id, "c-1", {item: "1"})
        assert made.attempt_no == 1 and len(waiting.submissions(small_quiz.quiz_id)) == 1


def test_concurrent_init_and_import_happen_once(db_url, small_quiz) -> None:
    barrier = threading.Barrier(6)

    def init_and_import(_: int) -> bool:
        barrier.wait()
        with Gradebook(db_url).init() as book:
            return book.import_quiz(small_quiz).created

    with ThreadPoolExecutor(6) as pool:
        created = list(pool.map(init_and_import, range(6)))
    assert sorted(created) == [False] * 5 + [True]
    with Gradebook(db_url).open() as book:
        assert book.load_quiz(small_quiz.quiz_id) == small_quiz


KILLED_WRITER = """
import sys
from grader.store import Gradebook
db, quiz_id, item = sys.argv[1:4]
students = sys.argv[4:]
with Gradebook(db).open() as book:
    for n in range(100_000):
        made = book.submit(students[n % len(students)], quiz_id, f"k{n}", {item: str(n)})
        print(n, made.id, flush=True)  # acknowledged: committed before this line
"""


def test_a_writer_killed_mid_load_loses_no_acknowledged_submission(
    book, db_url, small_quiz
) -> None:
    """SIGKILL a process in the middle of a stream of submissions; a client then retries
    every id it sent: each acknowledged one is there once, under its first id."""
    import signal
    import subprocess
    import sys

    book.import_quiz(small_quiz)
    students = [s.student_id for s in small_quiz.students]
    item = small_quiz.item_ids[0]
    args = [db_url, small_quiz.quiz_id, item, *students]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, *args],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    acked: dict[int, int] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        n, sub_id = map(int, line.split())
        acked[n] = sub_id
        if len(acked) == 60:
            proc.send_signal(signal.SIGKILL)
            break
    acked.update(dict(map(int, line.split()) for line in proc.stdout))  # written before death
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    sent = max(acked) + 2  # the one in flight when killed may or may not be stored
    for n in range(sent):  # the client retries everything it sent
        made = book.submit(students[n % len(students)], small_quiz.quiz_id, f"k{n}",
                           {item: str(n)})  # fmt: skip
        if n in acked:
            assert made.replayed and made.id == acked[n]
    stored = book.submissions(small_quiz.quiz_id)
    assert sorted(s.client_id for s in stored) == sorted(f"k{n}" for n in range(sent))
    for sid in students:
        attempts = [s.attempt_no for s in stored if s.student_id == sid]
        assert sorted(attempts) == list(range(1, len(attempts) + 1))
    if book.engine.dialect.name == "sqlite":
        with book.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_the_constraints_alone_hold_the_limit(book, db_url, small_quiz) -> None:
    """Without the store's queueing (no advisory lock, no in-process lock), racing
    conditional inserts still never pass the limit: the unique constraint on the attempt
    number turns every lost race into a retry that sees the winner."""
    import contextlib
    from datetime import UTC, datetime

    from grader import queries
    from grader.db import run_write
    from grader.records import body_hash, canonical_json

    book.import_quiz(small_quiz)
    sid, item = small_quiz.students[2].student_id, small_quiz.item_ids[0]
    barrier = threading.Barrier(THREADS)

    def insert(i: int) -> int | None:
        body = canonical_json({item: str(i)})
        barrier.wait()
        made = run_write(book.engine, contextlib.nullcontext(), lambda conn: queries.insert_attempt(
            conn, small_quiz.quiz_id, sid, f"raw-{i}", body, body_hash(body), "test",
            datetime.now(UTC), LIMIT,
        ))  # fmt: skip
        return None if made is None else made.attempt_no

    with ThreadPoolExecutor(THREADS) as pool:
        numbers = [n for n in pool.map(insert, range(THREADS)) if n is not None]
    assert sorted(numbers) == list(range(1, LIMIT + 1))
    assert len(book.submissions(small_quiz.quiz_id, sid)) == LIMIT
