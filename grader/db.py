"""The gradebook's database: URLs, engines, transactions, migrations, and its errors.

One SQLite file by default; a department passes a PostgreSQL URL and everything works
the same. On SQLite every connection gets, from an event listener (never by hand):
WAL journaling, ``synchronous=FULL`` (an acknowledged write survives a power cut), a
busy timeout and foreign keys. Writes open with ``BEGIN IMMEDIATE``: a deferred
transaction that reads first and writes later fails with "database is locked" under
load instead of waiting its turn.

The errors of the gradebook, all under the project's one base::

    AssessmentError (questions.errors)
    └── GraderError (grader.errors)
        └── GradebookError            the gradebook refused a request or cannot work
            ├── NotInitialisedError   the database has no (or an older) schema
            ├── DatabaseBusyError     the database stayed locked or unreachable
            ├── NotFoundError         unknown quiz, student, item or submission
            ├── UnknownTokenError     an unknown or revoked access token (HTTP 401)
            ├── ConflictError         a different quiz (or student) with an id in use
            └── SubmissionRefused     nothing was stored; ``field`` names the culprit
                ├── InvalidInputError       a malformed field (HTTP 422)
                ├── IdempotencyConflict     a client id reused with another body (422)
                ├── DeadlinePassedError     submitted after the deadline (403)
                └── AttemptsExhaustedError  no attempts left (409)

>>> database_url("course.db")
'sqlite:///course.db'
>>> database_url("postgresql://tutor@db.example.edu/course")
'postgresql+psycopg://tutor@db.example.edu/course'
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import TYPE_CHECKING, TypeVar

from grader.errors import GraderError

if TYPE_CHECKING:  # sqlalchemy is imported by the functions that need it
    from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")

__all__ = [
    "BUSY_TIMEOUT_S",
    "DEFAULT_DB",
    "ConflictError",
    "DatabaseBusyError",
    "DeadlinePassedError",
    "AttemptsExhaustedError",
    "GradebookError",
    "IdempotencyConflict",
    "InvalidInputError",
    "NotFoundError",
    "NotInitialisedError",
    "SubmissionRefused",
    "UnknownTokenError",
    "alembic_config",
    "database_url",
    "head_revision",
    "make_engine",
    "migrate",
    "read_tx",
    "run_write",
    "schema_revision",
    "write_tx",
    "writer_lock",
]

DEFAULT_DB = "alignquiz.db"
"""The course's SQLite file when no ``--db`` is given (relative to the current folder)."""
BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for the lock before giving up."""
MIGRATION_LOCK = 0x61_6C_69_67_6E_71
"""PostgreSQL advisory lock key held while migrating ("alignq")."""


# --------------------------------------------------------------------------- errors
class GradebookError(GraderError):
    """The gradebook refused a request or cannot work; the message is one line."""


class NotInitialisedError(GradebookError):
    """The database has no gradebook schema, or an older one."""


class DatabaseBusyError(GradebookError):
    """The database stayed locked (SQLite) or could not be reached."""


class NotFoundError(GradebookError):
    """An unknown quiz, student, item or submission."""


class UnknownTokenError(GradebookError):
    """An access token that is unknown or revoked (the message never echoes it)."""


class ConflictError(GradebookError):
    """An id is already used by a different quiz or student."""


class SubmissionRefused(GradebookError):
    """A submission was refused and nothing was stored; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class InvalidInputError(SubmissionRefused):
    """A malformed field: wrong type, too long, unknown item, bad characters."""


class IdempotencyConflict(SubmissionRefused):
    """A client id already names a submission with a different body."""


class DeadlinePassedError(SubmissionRefused):
    """The submission came after the deadline."""


class AttemptsExhaustedError(SubmissionRefused):
    """The student has used every attempt."""


# --------------------------------------------------------------------------- engines
def database_url(db: str) -> str:
    """A SQLAlchemy URL from what a user types: a file path, ``sqlite:///...``, or a
    PostgreSQL URL (``postgresql://`` is given the psycopg 3 driver)."""
    if "://" not in db:
        return f"sqlite:///{db}"
    for prefix in ("postgresql://", "postgres://"):
        if db.startswith(prefix):
            return "postgresql+psycopg://" + db[len(prefix) :]
    return db


def make_engine(db: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``db`` (see :func:`database_url`) with the gradebook's settings."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = database_url(db)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
            _sqlite_listeners(engine, busy_timeout_s)
        elif url.startswith("postgresql+psycopg"):
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40)
        else:
            raise GradebookError(f"unsupported database URL {db!r}: give a file or postgresql://")
    except (ArgumentError, NoSuchModuleError) as exc:
        raise GradebookError(f"bad database URL {db!r}: {exc}") from None
    except ImportError as exc:
        raise GradebookError(
            f"{exc.name or 'a driver'} is not installed: pip install 'psycopg[binary]'"
        ) from None
    return engine


def _sqlite_listeners(engine: Engine, busy_timeout_s: float) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def _translated(engine: Engine) -> Iterator[None]:
    """Turn a locked or unreachable database into one-line errors."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in ("40001", "40P01"):
            raise  # a serialization failure or deadlock: the store reruns the transaction
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseBusyError(f"database {where} unavailable: {reason}") from None


@contextlib.contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
    with _translated(engine):
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn


@contextlib.contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read transaction: one consistent snapshot, never holding the write lock."""
    with _translated(engine):
        with engine.connect() as conn:
            with conn.begin():
                yield conn


RETRIES = 64
"""Most times one write is retried after losing a race."""
RETRYABLE = {"40001", "40P01"}
"""PostgreSQL's serialization failure and deadlock: the transaction may simply rerun."""


_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(engine: Engine) -> contextlib.AbstractContextManager:
    """SQLite: one writer at a time per process and file, queued on a lock instead of
    polling the busy handler (whose sleeps starve some writers for seconds under load).
    Other processes still wait on the database's own lock. PostgreSQL: no lock."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    key = os.path.realpath(engine.url.database or ":memory:")
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


def _lost_race(exc: Exception) -> bool:
    """Whether an IntegrityError is a unique key another writer committed first."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "23505" or getattr(
        orig, "sqlite_errorname", None
    ) in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def run_write(
    engine: Engine, lock: contextlib.AbstractContextManager, fn: Callable[[Connection], T]
) -> T:
    """Run ``fn`` in a write transaction, again if it lost a race: a unique key that
    another writer committed first, or (PostgreSQL) a deadlock or serialization
    failure. Each retry starts over, so it sees what the winner wrote."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    last: Exception | None = None
    for _ in range(RETRIES):
        try:
            with lock, write_tx(engine) as conn:
                return fn(conn)
        except IntegrityError as exc:
            if not _lost_race(exc):
                reason = str(exc.orig).splitlines()[0]
                raise GradebookError(f"the database refused the write: {reason}") from None
            last = exc
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRYABLE:
                raise
            last = exc
    raise DatabaseBusyError(f"gave up after {RETRIES} conflicting writes: {last}")


# --------------------------------------------------------------------------- migrations
def alembic_config(conn: Connection | None):
    """An Alembic config of the packaged migrations, running on ``conn``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("grader") / "migrations"))
    config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    from alembic.script import ScriptDirectory

    config = alembic_config(None)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The database's schema revision (None when it has no gradebook)."""
    from alembic.runtime.migration import MigrationContext

    with read_tx(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> str:
    """Create or upgrade the schema to ``revision``; return the revision reached."""
    from alembic import command
    from alembic.util import CommandError

    # SQLite: a new file's first connections switch it to WAL, and a connection that must
    # upgrade its lock for that is refused at once ("database is locked") rather than
    # queued by the busy timeout; so migrators queue on the writer lock within a process
    # and retry, until the busy timeout, across processes.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            with writer_lock(engine):
                try:
                    with write_tx(engine) as conn:
                        if conn.dialect.name == "postgresql":  # one migrator per database
                            conn.exec_driver_sql(
                                f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
                            )
                        command.upgrade(alembic_config(conn), revision)
                except CommandError as exc:  # e.g. a schema written by a newer alignquiz
                    reason = str(exc).splitlines()[0]
                    raise NotInitialisedError(f"cannot migrate the gradebook: {reason}") from None
                current = schema_revision(engine)
            break
        except DatabaseBusyError:
            if engine.dialect.name != "sqlite" or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert current is not None
    return current
