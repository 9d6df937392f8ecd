"""Fixtures of the gradebook tests: a real SQLite file and a real PostgreSQL server.

Every test that takes ``db_url`` runs twice, once per backend, each time on a fresh
database. PostgreSQL is a throwaway cluster started once per session with Debian's
``initdb``/``pg_ctl`` (``/usr/lib/postgresql/*/bin`` or PATH) on a free loopback port, as
the ``postgres`` user when the tests run as root (initdb refuses root; the tests' process
switches user for those commands only). To use a server
of your own instead, set ``ALIGNQUIZ_TEST_PG`` to a URL of a role that may create
databases, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``.

Without PostgreSQL the tests fail (never skip): CI installs it.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ENV = "ALIGNQUIZ_TEST_PG"
_counter = itertools.count()


def _pg_bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        pytest.fail(
            "PostgreSQL is not installed (no initdb): apt-get install postgresql, "
            f"or set {PG_ENV} to a server URL",
            pytrace=False,
        )
    return Path(dirs[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A URL (psycopg 3) of a superuser on a running PostgreSQL server."""
    if os.environ.get(PG_ENV):
        yield os.environ[PG_ENV]
        return
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="alignquiz-pg-"))
    as_user: dict = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        shutil.chown(root, "postgres", "postgres")
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=root,
                              **as_user)  # fmt: skip
        if done.returncode:
            pytest.fail(f"{args[0]} failed: {done.stdout}{done.stderr}", pytrace=False)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "alignquiz", "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
            "-w", "-t", "60", "start")  # fmt: skip
        yield f"postgresql://alignquiz@127.0.0.1:{port}/postgres"
    finally:  # also after a failed start: nothing is left running or on disk
        if (data / "postmaster.pid").exists():
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60, cwd=root, **as_user)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty gradebook location: a SQLite file, or a new schema (named in the
    URL's ``search_path``) on the PostgreSQL server, dropped afterwards."""
    if request.param == "sqlite":
        yield str(tmp_path / "course.db")
        return
    import psycopg

    admin = _plain(request.getfixturevalue("pg_admin_url"))
    name = f"gb_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    yield f"{admin}?options=-csearch_path%3D{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def book(db_url: str):
    """A migrated, empty gradebook on each backend."""
    from grader.store import Gradebook

    with Gradebook(db_url).init() as opened:
        yield opened


@pytest.fixture(scope="session")
def small_quiz(builtin_bank):
    """Four students, three items of three kinds, generated from the built-in bank."""
    from questions.generate import generate_quiz
    from questions.models import Student

    kinds = {}
    for item_id in builtin_bank.ids():
        kinds.setdefault(builtin_bank.get(item_id).kind, item_id)
    specs = [builtin_bank.get(i) for i in sorted(kinds.values())]
    students = [
        Student(student_id=f"s{i:03d}", name=f"Student {i}", email=f"s{i}@example.edu")
        for i in range(1, 5)
    ]
    return generate_quiz(specs, students, seed=7, title="gradebook test")


@pytest.fixture(scope="session")
def other_quiz(builtin_bank, small_quiz):
    """A second quiz sharing students with ``small_quiz`` (different seed)."""
    from questions.generate import generate_quiz

    specs = [small_quiz.items[i] for i in small_quiz.item_ids]
    return generate_quiz(specs, list(small_quiz.students), seed=8, title="retake")
