"""The schema: migrations match the models, go down and up again, and the SQLite
connection settings are applied on every connection."""

from __future__ import annotations

import pytest

from grader.db import database_url, head_revision, make_engine, migrate, schema_revision
from grader.schema import Base


def test_the_migrated_schema_matches_the_models(db_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(db_url)
    assert migrate(engine) == head_revision() == schema_revision(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diffs == []


def test_downgrade_to_nothing_and_up_again(db_url) -> None:
    from sqlalchemy import inspect

    engine = make_engine(db_url)
    migrate(engine)
    migrate_down(engine)
    assert schema_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate(engine) == head_revision()
    assert {"students", "quizzes", "variants", "submissions", "grades"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def migrate_down(engine) -> None:
    from alembic import command

    from grader.db import alembic_config, write_tx

    with write_tx(engine) as conn:
        command.downgrade(alembic_config(conn), "base")


PRAGMAS = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 7000}


def test_every_sqlite_connection_is_configured(tmp_path) -> None:
    engine = make_engine(str(tmp_path / "x.db"), busy_timeout_s=7)
    for _ in range(3):  # several pooled connections, each from the event listener
        with engine.connect() as conn:
            got = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in PRAGMAS}
            assert got == PRAGMAS
    engine.dispose()


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("course.db", "sqlite:///course.db"),
        ("/srv/course.db", "sqlite:////srv/course.db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls(given, url) -> None:
    assert database_url(given) == url


def test_an_unsupported_url_is_one_line(tmp_path) -> None:
    from grader.db import GradebookError

    with pytest.raises(GradebookError, match="unsupported database URL"):
        make_engine("mysql://u@h/db")


def test_an_upgrade_keeps_every_row(db_url, small_quiz) -> None:
    """A gradebook filled at revision 0001 is upgraded to the newest schema: the quiz
    (checked against its digest), submissions and grades all read back."""
    from datetime import UTC, datetime

    from grader import queries
    from grader.db import write_tx
    from grader.records import body_hash, canonical_json
    from grader.result import GradeResult
    from grader.store import Gradebook, quiz_digest

    engine = make_engine(db_url)
    assert migrate(engine, "0001") == "0001"
    now = datetime(2026, 11, 25, tzinfo=UTC)
    sid, item = small_quiz.students[0].student_id, small_quiz.item_ids[0]
    body = canonical_json({item: "0.25"})
    with write_tx(engine) as conn:
        queries.import_quiz(conn, small_quiz, quiz_digest(small_quiz), now)
        sub = queries.insert_attempt(conn, small_quiz.quiz_id, sid, "old-1", body,
                                     body_hash(body), "server", now, None)  # fmt: skip
        assert sub is not None
        queries.insert_grades(conn, sub.id, {item: GradeResult.of(1, points=1)}, "exact", "1", now)
    engine.dispose()
    with pytest.raises(Exception, match="schema 0001"):
        Gradebook(db_url).open()
    with Gradebook(db_url).init() as book:
        assert book.revision_ == head_revision()
        assert book.load_quiz(small_quiz.quiz_id) == small_quiz
        assert [s.answers for s in book.submissions(small_quiz.quiz_id)] == [{item: "0.25"}]
        assert [g.version for g in book.latest_grades(small_quiz.quiz_id)] == [1]
        assert book.policy(small_quiz.quiz_id).release == "immediately"
        assert book.check_bodies() == []


def test_a_schema_from_a_newer_alignquiz_is_refused_in_one_line(tmp_path) -> None:
    from grader.db import NotInitialisedError, write_tx
    from grader.store import Gradebook

    path = str(tmp_path / "newer.db")
    Gradebook(path).init().close()
    engine = make_engine(path)
    with write_tx(engine) as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    for attempt in (Gradebook(path).init, Gradebook(path).open):
        with pytest.raises(NotInitialisedError, match="9999") as caught:
            attempt()
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "db", ["postgresql://tutor:secretpw@127.0.0.1:1/course", "/no/such/folder/course.db"]
)
def test_an_unreachable_database_is_one_line_without_the_password(db) -> None:
    from grader.db import DatabaseBusyError
    from grader.store import Gradebook

    with pytest.raises(DatabaseBusyError, match="unavailable") as caught:
        Gradebook(db).init()
    assert "\n" not in str(caught.value) and "secretpw" not in str(caught.value)
