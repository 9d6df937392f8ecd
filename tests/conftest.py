"""Shared fixtures: the built-in bank (loaded once), small roster writers, the CLI in a
subprocess, and the gradebook backends.

Every test that takes ``db_url`` runs twice, once per backend, each time on a fresh
database: a SQLite file, and a new schema on a real PostgreSQL server. PostgreSQL is a
throwaway cluster started once per session with Debian's ``initdb``/``pg_ctl``
(``/usr/lib/postgresql/*/bin`` or PATH) on a free loopback port, as the ``postgres`` user
when the tests run as root (initdb refuses root). To use a server of your own instead,
set ``ALIGNQUIZ_TEST_PG`` to a URL of a role that may create schemas, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``. Without PostgreSQL the tests fail
(never skip): .ci/run installs it.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def course_secret_file(tmp_path_factory):
    """Tests never touch the user's real course secret (subprocesses inherit this)."""
    import os

    path = tmp_path_factory.mktemp("config") / "secret"
    os.environ["ALIGNQUIZ_SECRET_FILE"] = str(path)
    return path


@pytest.fixture(scope="session")
def embedder():
    """The real embedding model, loaded once per test session (as sentence-transformers'
    own tests do; grader.embedding also keeps one per process)."""
    from grader.embedding import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def pair_classifier():
    """The real pair classifier (MiniLM + the shipped adapter), loaded once per session."""
    from grader.pair import get_pair_classifier

    return get_pair_classifier()


@pytest.fixture(scope="session")
def essay_grader(embedder, pair_classifier):
    """The essay grader on the real models."""
    from grader.essay import EssayGrader

    return EssayGrader(embedder, pair_classifier)


@pytest.fixture(scope="session")
def builtin_bank():
    from questions.bank import load_bank

    return load_bank()


@pytest.fixture
def roster(tmp_path: Path):
    """Write a roster CSV (given as text) and return its path."""

    def make(text: str, name: str = "roster.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def run_cli():
    """Run the real console entry point in a subprocess; returns CompletedProcess."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "alignquiz", *args],
            capture_output=True, text=True, cwd=cwd, timeout=300,
        )  # fmt: skip

    return run


# ------------------------------------------------------------------ gradebook backends
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
