"""The gradebook's API on a real SQLite file and a real PostgreSQL server (each test runs
on both): quiz import, idempotent submit, deadlines and attempt limits, versioned grades,
exports, and bad input that never loses or adds a row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.db import (
    AttemptsExhaustedError,
    ConflictError,
    DeadlinePassedError,
    GradebookError,
    IdempotencyConflict,
    InvalidInputError,
    NotFoundError,
)
from grader.result import GradeResult
from grader.store import Gradebook

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def loaded(book, small_quiz):
    book.import_quiz(small_quiz)
    return book


def _ids(quiz):
    return quiz.quiz_id, quiz.students[0].student_id, quiz.item_ids


def _row_counts(book) -> dict[str, int]:
    from sqlalchemy import text

    with book.engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("students", "quizzes", "variants", "submissions", "grades")
        }


# --------------------------------------------------------------------------- quizzes
def test_import_is_idempotent_and_the_quiz_comes_back_identical(book, small_quiz) -> None:
    first = book.import_quiz(small_quiz)
    again = book.import_quiz(small_quiz)
    assert first.created and not again.created
    assert first.variants == len(small_quiz.students) * len(small_quiz.item_ids)
    assert book.load_quiz(small_quiz.quiz_id) == small_quiz
    assert _row_counts(book)["variants"] == first.variants
    sid = small_quiz.students[0].student_id
    assert book.variants(small_quiz.quiz_id, sid) == list(small_quiz.variants[sid])


def test_a_different_quiz_with_the_same_id_is_refused(loaded, small_quiz) -> None:
    before = _row_counts(loaded)
    changed = small_quiz.model_copy(update={"title": "another title"})
    with pytest.raises(ConflictError, match="different quiz"):
        loaded.import_quiz(changed)
    assert _row_counts(loaded) == before
    assert loaded.load_quiz(small_quiz.quiz_id) == small_quiz


def test_two_quizzes_share_students(loaded, small_quiz, other_quiz) -> None:
    loaded.import_quiz(other_quiz)
    counts = _row_counts(loaded)
    assert counts["students"] == len(small_quiz.students) and counts["quizzes"] == 2
    assert [q.quiz_id for q in loaded.quizzes()] == sorted(
        [small_quiz.quiz_id, other_quiz.quiz_id],
        key=lambda q: 0 if q == small_quiz.quiz_id else 1,
    )


# --------------------------------------------------------------------------- submissions
def test_submit_appends_attempts_and_replays_a_repeated_client_id(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    first = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"}, max_attempts=3, now=T0)
    assert (first.attempt_no, first.replayed, first.answers) == (1, False, {items[0]: "0.5"})
    again = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"}, max_attempts=3, now=T0)
    assert again.replayed and again.id == first.id and again.attempt_no == 1
    second = loaded.submit(sid, quiz_id, "c-2", {items[0]: "0.7"}, max_attempts=3, now=T0)
    assert second.attempt_no == 2 and second.id != first.id
    assert [s.client_id for s in loaded.submissions(quiz_id, sid)] == ["c-1", "c-2"]
    assert loaded.attempts_used(quiz_id, sid) == 2


def test_same_client_id_with_another_body_is_refused(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"})
    for body in ({items[0]: "0.50"}, {items[0]: "0.5", items[1]: "A"}):
        with pytest.raises(IdempotencyConflict, match="different body") as caught:
            loaded.submit(sid, quiz_id, "c-1", body)
        assert caught.value.field == "client_id"
    assert loaded.attempts_used(quiz_id, sid) == 1


def test_attempt_limit_and_deadline_store_nothing(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    deadline = T0 + timedelta(hours=1)
    for n in range(2):
        loaded.submit(sid, quiz_id, f"c-{n}", {items[0]: str(n)}, max_attempts=2,
                      deadline=deadline, now=T0)  # fmt: skip
    with pytest.raises(AttemptsExhaustedError, match="all 2 attempts"):
        loaded.submit(sid, quiz_id, "c-9", {items[0]: "9"}, max_attempts=2, now=T0)
    late = T0 + timedelta(hours=2)
    other = small_quiz.students[1].student_id
    with pytest.raises(DeadlinePassedError, match="deadline"):
        loaded.submit(other, quiz_id, "c-1", {items[0]: "1"}, deadline=deadline, now=late)
    # an acknowledged submission replayed after the deadline still answers with itself
    replay = loaded.submit(sid, quiz_id, "c-0", {items[0]: "0"}, max_attempts=2,
                           deadline=deadline, now=late)  # fmt: skip
    assert replay.replayed and replay.attempt_no == 1
    assert _row_counts(loaded)["submissions"] == 2


@pytest.mark.parametrize(
    ("student", "quiz", "client", "answers", "error", "field"),
    [
        ("s001", None, "c", {"x": "1"}, InvalidInputError, "answers.x"),
        ("s001", None, "c", {}, InvalidInputError, "answers"),
        ("s001", None, "c", ["1"], InvalidInputError, "answers"),
        ("s001", None, "c", {0: "1"}, InvalidInputError, "answers"),
        ("s001", None, "c", {"ITEM": 1.5}, InvalidInputError, "answers.ITEM"),
        ("s001", None, "c", {"ITEM": "x" * 20_001}, InvalidInputError, "answers.ITEM"),
        ("s001", None, "c\x00", {"ITEM": "1"}, InvalidInputError, "client_id"),
        ("s001", None, "c" * 129, {"ITEM": "1"}, InvalidInputError, "client_id"),
        ("=cmd", None, "c", {"ITEM": "1"}, InvalidInputError, "student_id"),
        ("s\u0661", None, "c", {"ITEM": "1"}, InvalidInputError, "student_id"),
        ("s999", None, "c", {"ITEM": "1"}, NotFoundError, None),
        ("s001", "qnope", "c", {"ITEM": "1"}, NotFoundError, None),
    ],
)
def test_bad_input_is_refused_by_field_and_stores_nothing(
    loaded, small_quiz, student, quiz, client, answers, error, field
) -> None:
    item = small_quiz.item_ids[0]
    if isinstance(answers, dict):
        answers = {(item if k == "ITEM" else k): v for k, v in answers.items()}
    loaded.submit("s002", small_quiz.quiz_id, "kept", {item: "1"})
    before = _row_counts(loaded)
    with pytest.raises(error) as caught:
        loaded.submit(student, quiz or small_quiz.quiz_id, client, answers)
    if field is not None:
        assert caught.value.field == field.replace("ITEM", item)
    assert "\n" not in str(caught.value)
    assert _row_counts(loaded) == before
    assert loaded.submissions(small_quiz.quiz_id)[0].answers == {item: "1"}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_answer_text_is_stored_and_read_back_exactly(loaded, small_quiz, text) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    client = f"h-{abs(hash(text))}"
    made = loaded.submit(sid, quiz_id, client, {items[2]: text})
    again = loaded.submit(sid, quiz_id, client, {items[2]: text})
    assert again.id == made.id and again.answers == {items[2]: text}
    assert loaded.check_bodies() == []


ANY_VALUE = st.one_of(st.text(max_size=50), st.integers(), st.none(), st.lists(st.text()))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.one_of(
        st.dictionaries(st.one_of(st.text(max_size=90), st.sampled_from(["ITEM"])), ANY_VALUE),
        st.lists(st.text()),
        st.text(),
        st.none(),
    ),
    client=st.one_of(st.text(max_size=140), st.sampled_from(["c-1", "c-2"])),
)
def test_any_body_is_stored_whole_or_refused_by_field(loaded, small_quiz, answers, client) -> None:
    """Whatever a client sends, the gradebook stores it whole or refuses it with an
    InvalidInputError (or an IdempotencyConflict for a reused id), never anything else."""
    quiz_id, sid, items = _ids(small_quiz)
    if isinstance(answers, dict):
        answers = {(items[0] if k == "ITEM" else k): v for k, v in answers.items()}
    before = _row_counts(loaded)["submissions"]
    try:
        made = loaded.submit(sid, quiz_id, client, answers)
    except (InvalidInputError, IdempotencyConflict) as exc:
        assert "\n" not in str(exc) and exc.field
        assert _row_counts(loaded)["submissions"] == before
        return
    assert made.answers == answers and set(answers) <= set(items)
    assert _row_counts(loaded)["submissions"] == before + (0 if made.replayed else 1)


def test_naive_datetimes_are_refused(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    with pytest.raises(GradebookError, match="naive"):
        loaded.submit(sid, quiz_id, "c", {items[0]: "1"}, deadline=datetime(2030, 1, 1))
    assert _row_counts(loaded)["submissions"] == 0


# --------------------------------------------------------------------------- grades
def test_a_regrade_adds_a_version_and_keeps_the_history(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    sub = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5", items[1]: "A"})
    assert [s.id for s in loaded.pending(quiz_id)] == [sub.id]
    points = {v.item_id: v.points for v in small_quiz.variants[sid]}
    half = GradeResult.of(0.5, points=points[items[0]], feedback=["half"], confidence=0.6)
    only = loaded.record_grade(sub.id, items[2], GradeResult.of(0, points=points[items[2]]),
                               grader="exact", grader_version="0.9")  # fmt: skip
    assert only.version == 1 and [s.id for s in loaded.pending(quiz_id)] == [sub.id]
    first = loaded.record_grades(
        sub.id, {i: half if i == items[0] else GradeResult.of(0, points=points[i]) for i in items},
        grader="exact", grader_version="1.0",
    )  # fmt: skip
    assert {g.item_id: g.version for g in first} == {items[0]: 1, items[1]: 1, items[2]: 2}
    assert loaded.pending(quiz_id) == []
    full = GradeResult.of(1.0, points=points[items[0]], feedback=["regraded"])
    second = loaded.record_grade(sub.id, items[0], full, grader="exact", grader_version="1.1")
    assert second.version == 2 and second.result() == full
    history = loaded.grade_history(sub.id, items[0])
    assert [(g.version, g.score, g.grader_version) for g in history] == [
        (1, 0.5, "1.0"), (2, 1.0, "1.1")
    ]  # fmt: skip
    assert history[0].result() == half and history[0].confidence == 0.6
    latest = {g.item_id: g for g in loaded.latest_grades(quiz_id)}
    assert latest[items[0]].version == 2 and latest[items[1]].version == 1
    assert len(loaded.grade_history(sub.id)) == len(items) + 2


def _statements(engine, fn):
    """(what ``fn()`` returned, the SQL statements it sent to the database)."""
    from sqlalchemy import event

    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        return fn(), sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_a_submissions_grades_are_one_insert_at_each_items_next_version(loaded, small_quiz):
    quiz_id, sid, items = _ids(small_quiz)
    sub = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"})
    points = {v.item_id: v.points for v in small_quiz.variants[sid]}
    loaded.record_grade(sub.id, items[1], GradeResult.of(0, points=points[items[1]]),
                        grader="exact", grader_version="1")  # fmt: skip
    results = {i: GradeResult.of(1, points=points[i], feedback=[i]) for i in reversed(items)}
    made, sent = _statements(loaded.engine, lambda: loaded.record_grades(
        sub.id, results, grader="exact", grader_version="2", now=T0))  # fmt: skip
    inserts = [s for s in sent if s.startswith("INSERT")]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT INTO GRADES"), inserts
    assert len([s for s in sent if s.startswith("SELECT")]) == 1, sent
    assert [(g.item_id, g.version) for g in made] == [
        (items[0], 1), (items[1], 2), (items[2], 1)
    ]  # fmt: skip
    stored = {(g.item_id, g.version): g for g in loaded.grade_history(sub.id)}
    for g in made:  # what is returned is what is stored, ids and times included
        assert stored[g.item_id, g.version] == g
        assert g.result() == results[g.item_id] and g.created_at == T0
    assert len({g.id for g in made}) == len(items)


def test_new_only_adds_a_first_version_and_never_a_second(loaded, small_quiz) -> None:
    """What graders of pending work use: an item graded meanwhile keeps its one grade."""
    quiz_id, sid, items = _ids(small_quiz)
    sub = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"})
    points = {v.item_id: v.points for v in small_quiz.variants[sid]}
    first = GradeResult.of(0.5, points=points[items[0]], feedback=["first grader"])
    loaded.record_grade(sub.id, items[0], first, grader="essay", grader_version="1")
    results = {i: GradeResult.of(1, points=points[i]) for i in items}
    made = loaded.record_grades(sub.id, results, grader="exact", grader_version="1",
                                new_only=True)  # fmt: skip
    assert [(g.item_id, g.version) for g in made] == [(items[1], 1), (items[2], 1)]
    assert loaded.record_grades(sub.id, results, grader="exact", grader_version="1",
                                new_only=True) == []  # fmt: skip
    assert [g.result() for g in loaded.grade_history(sub.id, items[0])] == [first]
    assert _row_counts(loaded)["grades"] == len(items)
    with pytest.raises(GradebookError, match="points"):  # still checked, even if not written
        loaded.record_grades(sub.id, {items[0]: GradeResult.of(1, points=99)},
                             grader="exact", grader_version="1", new_only=True)  # fmt: skip


def test_grades_are_checked_before_they_are_stored(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    sub = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"})
    worth = small_quiz.variants[sid][0].points
    with pytest.raises(NotFoundError):
        loaded.record_grade(sub.id + 100, items[0], GradeResult.of(1, points=worth),
                            grader="exact", grader_version="1")  # fmt: skip
    with pytest.raises(NotFoundError):
        loaded.record_grade(sub.id, "no-such-item", GradeResult.of(1, points=worth),
                            grader="exact", grader_version="1")  # fmt: skip
    for bad_id in ("1", None, True, 2**40):
        with pytest.raises(NotFoundError):
            loaded.record_grade(bad_id, items[0], GradeResult.of(1, points=worth),
                                grader="exact", grader_version="1")  # fmt: skip
    for grader, version in (("", "1"), ("exact", "x" * 65), ("ex\x00act", "1")):
        with pytest.raises(GradebookError, match="grader"):
            loaded.record_grade(sub.id, items[0], GradeResult.of(1, points=worth),
                                grader=grader, grader_version=version)  # fmt: skip
    with pytest.raises(GradebookError, match="points"):
        loaded.record_grade(sub.id, items[0], GradeResult.of(1, points=worth + 1),
                            grader="exact", grader_version="1")  # fmt: skip
    assert _row_counts(loaded)["grades"] == 0


@pytest.mark.parametrize("table", ["submissions", "grades"])
def test_the_database_refuses_updates_and_deletes(loaded, small_quiz, table) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    quiz_id, sid, items = _ids(small_quiz)
    sub = loaded.submit(sid, quiz_id, "c-1", {items[0]: "0.5"})
    worth = small_quiz.variants[sid][0].points
    loaded.record_grade(sub.id, items[0], GradeResult.of(1, points=worth),
                        grader="exact", grader_version="1")  # fmt: skip
    column = "answers" if table == "submissions" else "feedback"
    for statement in (f"UPDATE {table} SET {column} = '{{}}'", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"):
            with loaded.engine.begin() as conn:
                conn.execute(text(statement))
    assert loaded.submissions(quiz_id)[0].answers == {items[0]: "0.5"}
    assert loaded.check_bodies() == []


# --------------------------------------------------------------------------- exports
def test_totals_and_audit_rows(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    points = {v.item_id: v.points for v in small_quiz.variants[sid]}
    scores = [0.5, 1.0, 0.0]  # attempt 2 is the best, attempt 3 the last (ungraded)
    subs = [loaded.submit(sid, quiz_id, f"c-{n}", {items[0]: str(n)}) for n in range(3)]
    for sub, score in zip(subs[:2], scores, strict=False):
        loaded.record_grades(sub.id, {i: GradeResult.of(score, points=points[i]) for i in items},
                             grader="exact", grader_version="1")  # fmt: skip
    best = {t.student_id: t for t in loaded.totals(quiz_id, "best")}
    last = {t.student_id: t for t in loaded.totals(quiz_id, "last")}
    total = sum(points.values())
    assert best[sid].points == pytest.approx(total) and best[sid].submission_id == subs[1].id
    assert last[sid].points is None and last[sid].submission_id == subs[2].id
    assert best[sid].attempts == 3 and best[sid].max_points == pytest.approx(total)
    other = small_quiz.students[1].student_id
    assert best[other].points is None and best[other].attempts == 0
    rows = loaded.audit_rows(quiz_id)
    assert len(rows) == 3 * len(items)
    assert [(r.attempt_no, r.item_id, r.answer, r.grade_version) for r in rows[:2]] == [
        (1, items[0], "0", 1), (1, items[1], None, 1)
    ]  # fmt: skip
    assert rows[-1].score is None


def test_open_refuses_a_database_without_the_schema(db_url) -> None:
    from grader.db import NotInitialisedError

    with pytest.raises(NotInitialisedError, match="gradebook init"):
        Gradebook(db_url).open()
    from grader.db import head_revision

    with Gradebook(db_url).init() as book:
        assert book.revision_ == head_revision() == "0002"
    with Gradebook(db_url).init() as again, Gradebook(db_url).open() as opened:
        assert again.revision_ == opened.revision_ == head_revision()


# --------------------------------------------------------------------------- access
TOKEN = "tok-ada-0123456789abcdef"


def test_tokens_open_one_paper_and_only_their_hash_is_stored(loaded, small_quiz) -> None:
    from sqlalchemy import text

    from grader.db import UnknownTokenError

    quiz_id, sid, items = _ids(small_quiz)
    other = small_quiz.students[1].student_id
    assert loaded.issue_tokens(quiz_id, {sid: TOKEN, other: TOKEN[::-1]}) == 2
    assert loaded.issue_tokens(quiz_id, {sid: TOKEN}) == 0  # repeating is a no-op
    with pytest.raises(GradebookError, match="someone else"):
        loaded.issue_tokens(quiz_id, {other: TOKEN})
    owner = loaded.owner_of(TOKEN)
    assert (owner.quiz_id, owner.student_id) == (quiz_id, sid)
    with loaded.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM tokens")))
    assert TOKEN not in dump and TOKEN[::-1] not in dump
    for bad in ("x" * 40, "short", "tok\x00" * 8, None, TOKEN + "\n"):
        with pytest.raises(UnknownTokenError) as caught:
            loaded.owner_of(bad)
        assert str(caught.value) == "unknown or revoked token"
    loaded.revoke_token(TOKEN)
    before = _row_counts(loaded)
    with pytest.raises(UnknownTokenError):
        loaded.submit_as(TOKEN, "c-1", {items[0]: "1"})
    assert _row_counts(loaded) == before
    assert loaded.owner_of(TOKEN[::-1]).student_id == other


def test_submit_as_applies_the_stored_policy(loaded, small_quiz) -> None:
    quiz_id, sid, items = _ids(small_quiz)
    assert loaded.policy(quiz_id).max_attempts is None
    loaded.issue_tokens(quiz_id, {sid: TOKEN})
    loaded.set_policy(quiz_id, max_attempts=1, deadline=T0, release="after_deadline")
    assert loaded.policy(quiz_id) == loaded.set_policy(
        quiz_id, max_attempts=1, deadline=T0, release="after_deadline"
    )
    made = loaded.submit_as(TOKEN, "c-1", {items[0]: "1"}, now=T0 - timedelta(minutes=1))
    assert made.student_id == sid and made.attempt_no == 1
    with pytest.raises(AttemptsExhaustedError):
        loaded.submit_as(TOKEN, "c-2", {items[0]: "2"}, now=T0 - timedelta(minutes=1))
    with pytest.raises(DeadlinePassedError):
        loaded.submit_as(TOKEN, "c-3", {items[0]: "3"}, now=T0 + timedelta(seconds=1))
    for bad in ({"max_attempts": 0}, {"release": "never"}, {"deadline": datetime(2030, 1, 1)}):
        with pytest.raises(GradebookError):
            loaded.set_policy(quiz_id, **bad)
    with pytest.raises(NotFoundError):
        loaded.set_policy("qnope", max_attempts=2)
    assert loaded.policy(quiz_id).deadline == T0
