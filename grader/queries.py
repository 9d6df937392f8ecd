"""The gradebook's SQL, one function per statement family, each on a given connection.

``grader.store.Gradebook`` owns the transactions; these functions only read and write
inside the one they are handed. The two inserts that must be race-free are backed by
unique constraints: an attempt is one conditional statement (``INSERT ... SELECT
coalesce(max(n), 0) + 1 ... HAVING``); a submission's grades are one SELECT of each
item's newest version and one multi-row INSERT of the next ones. A writer that loses a
race gets an ``IntegrityError`` and the store retries the whole transaction.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, literal, select
from sqlalchemy.engine import Row

from grader.db import ConflictError, GradebookError, NotFoundError
from grader.records import (
    AuditRow,
    GradeRecord,
    ImportResult,
    QuizSummary,
    StudentTotal,
    SubmissionRecord,
    body_hash,
    canonical_json,
    field_name,
)
from grader.schema import Grade, Quiz, Student, Submission, UTCDateTime, Variant

__all__ = [
    "audit_rows",
    "grades",
    "import_quiz",
    "insert_attempt",
    "insert_grades",
    "item_ids_of",
    "load_quiz",
    "pending",
    "queue_for_student",
    "quiz_summaries",
    "submission_by_client_id",
    "submissions",
    "tampered",
    "totals",
    "variants",
]

Q, ST, V = Quiz.__table__, Student.__table__, Variant.__table__
S, G = Submission.__table__, Grade.__table__
CHUNK = 500
"""Rows per IN list or executemany batch (SQLite limits bound parameters)."""


# --------------------------------------------------------------------------- quizzes
def import_quiz(conn: Connection, quiz, digest: str, now: datetime) -> ImportResult:
    n_variants = sum(len(vs) for vs in quiz.variants.values())
    stored = conn.execute(select(Q.c.digest).where(Q.c.quiz_id == quiz.quiz_id)).scalar()
    if stored is not None:
        if stored != digest:
            raise ConflictError(
                f"a different quiz with id {quiz.quiz_id} is already in the gradebook; "
                "nothing was imported"
            )
        return ImportResult(quiz.quiz_id, False, len(quiz.students), n_variants)
    ids = sorted(s.student_id for s in quiz.students)  # one lock order for every writer
    known: set[str] = set()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        known |= set(
            conn.execute(select(ST.c.student_id).where(ST.c.student_id.in_(chunk))).scalars()
        )
    new = [
        {"student_id": s.student_id, "name": s.name, "email": s.email, "created_at": now}
        for s in sorted(quiz.students, key=lambda s: s.student_id)
        if s.student_id not in known
    ]
    if new:
        conn.execute(insert(ST), new)
    conn.execute(
        insert(Q),
        {
            "quiz_id": quiz.quiz_id, "title": quiz.title, "seed": quiz.seed, "digest": digest,
            "item_ids": canonical_json(list(quiz.item_ids)),
            "items": json.dumps({k: v.model_dump(mode="json") for k, v in quiz.items.items()}),
            "students": json.dumps([s.model_dump(mode="json") for s in quiz.students]),
            "imported_at": now,
        },
    )  # fmt: skip
    rows = [
        {"quiz_id": quiz.quiz_id, "student_id": sid, "item_id": v.item_id, "position": i,
         "points": v.points, "variant": v.model_dump_json()}
        for sid, vs in quiz.variants.items()
        for i, v in enumerate(vs)
    ]  # fmt: skip
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(V), rows[i : i + CHUNK])
    return ImportResult(quiz.quiz_id, True, len(quiz.students), n_variants)


def _quiz_row(conn: Connection, quiz_id: str) -> Row:
    row = conn.execute(select(Q).where(Q.c.quiz_id == quiz_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no quiz {quiz_id} in the gradebook")
    return row


def load_quiz(conn: Connection, quiz_id: str):
    from questions.variants import Quiz as QuizModel

    row = _quiz_row(conn, quiz_id)
    variants: dict[str, list[str]] = {}
    for sid, text in conn.execute(
        select(V.c.student_id, V.c.variant).where(V.c.quiz_id == quiz_id).order_by(V.c.position)
    ):
        variants.setdefault(sid, []).append(text)
    students = json.loads(row.students)
    doc = {
        "quiz_id": row.quiz_id, "title": row.title, "seed": row.seed,
        "item_ids": json.loads(row.item_ids), "students": students,
        "variants": {
            s["student_id"]: [json.loads(t) for t in variants.get(s["student_id"], [])]
            for s in students
        },
        "items": json.loads(row.items),
    }  # fmt: skip
    quiz = QuizModel.model_validate(doc)
    from grader.store import quiz_digest

    if quiz_digest(quiz) != row.digest:
        raise GradebookError(f"quiz {quiz_id} does not match its digest: the database was altered")
    return quiz


def variants(conn: Connection, quiz_id: str, student_id: str) -> list:
    from questions.variants import Variant as VariantModel

    texts = conn.execute(
        select(V.c.variant)
        .where(V.c.quiz_id == quiz_id, V.c.student_id == student_id)
        .order_by(V.c.position)
    ).scalars()
    found = [VariantModel.model_validate_json(t) for t in texts]
    if not found:
        item_ids_of(conn, quiz_id, student_id)  # raises the precise NotFoundError
    return found


def item_ids_of(conn: Connection, quiz_id: str, student_id: str) -> set[str]:
    """The items of a student's paper; NotFoundError for an unknown quiz or student."""
    ids = set(
        conn.execute(
            select(V.c.item_id).where(V.c.quiz_id == quiz_id, V.c.student_id == student_id)
        ).scalars()
    )
    if not ids:
        _quiz_row(conn, quiz_id)
        raise NotFoundError(f"student {field_name(student_id)} is not on quiz {quiz_id}")
    return ids


def quiz_summaries(conn: Connection) -> list[QuizSummary]:
    n_students = select(func.count(func.distinct(V.c.student_id))).where(V.c.quiz_id == Q.c.quiz_id)
    n_subs = select(func.count()).select_from(S).where(S.c.quiz_id == Q.c.quiz_id)
    n_pending = n_subs.where(_ungraded())
    rows = conn.execute(
        select(
            Q.c.quiz_id, Q.c.title, Q.c.item_ids, Q.c.imported_at,
            n_students.scalar_subquery(), n_subs.scalar_subquery(),
            n_pending.scalar_subquery(),
        ).order_by(Q.c.imported_at, Q.c.quiz_id)
    )  # fmt: skip
    return [QuizSummary(r[0], r[1], r[4], len(json.loads(r[2])), r[5], r[6], r[3]) for r in rows]


# --------------------------------------------------------------------------- submissions
def _submission(row: Row, replayed: bool = False) -> SubmissionRecord:
    return SubmissionRecord(
        id=row.id, quiz_id=row.quiz_id, student_id=row.student_id, client_id=row.client_id,
        attempt_no=row.attempt_no, answers=json.loads(row.answers), body_hash=row.body_hash,
        source=row.source, submitted_at=row.submitted_at, replayed=replayed,
    )  # fmt: skip


def queue_for_student(conn: Connection, quiz_id: str, student_id: str) -> None:
    """PostgreSQL: wait for other writers of this student's attempts (a transaction-level
    advisory lock), so concurrent submits queue instead of racing and retrying. The
    unique constraints stay the guarantee; this only spares the retries. SQLite writers
    are serialised already (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{quiz_id}/{student_id}", 0)))
        )


def submission_by_client_id(
    conn: Connection, quiz_id: str, student_id: str, client_id: str
) -> SubmissionRecord | None:
    row = conn.execute(
        select(S).where(
            S.c.quiz_id == quiz_id, S.c.student_id == student_id, S.c.client_id == client_id
        )
    ).one_or_none()
    return None if row is None else _submission(row, replayed=True)


def insert_attempt(
    conn: Connection,
    quiz_id: str,
    student_id: str,
    client_id: str,
    answers: str,
    digest: str,
    source: str,
    at: datetime,
    max_attempts: int | None,
) -> SubmissionRecord | None:
    """Insert attempt ``max + 1`` if fewer than ``max_attempts`` are stored (one statement);
    None when the limit is reached."""
    used = func.coalesce(func.max(S.c.attempt_no), 0)
    source_rows = select(
        literal(quiz_id), literal(student_id), literal(client_id), used + 1,
        literal(answers), literal(digest), literal(source), literal(at, UTCDateTime()),
    ).where(S.c.quiz_id == quiz_id, S.c.student_id == student_id)  # fmt: skip
    if max_attempts is not None:
        source_rows = source_rows.having(used < max_attempts)
    columns = ["quiz_id", "student_id", "client_id", "attempt_no", "answers", "body_hash",
               "source", "submitted_at"]  # fmt: skip
    row = conn.execute(insert(S).from_select(columns, source_rows).returning(*S.c)).one_or_none()
    return None if row is None else _submission(row)


def submissions(
    conn: Connection, quiz_id: str, student_id: str | None = None
) -> list[SubmissionRecord]:
    query = select(S).where(S.c.quiz_id == quiz_id).order_by(S.c.id)
    if student_id is not None:
        query = query.where(S.c.student_id == student_id)
    return [_submission(r) for r in conn.execute(query)]


def _ungraded():
    """Submissions with an item of the paper that has no grade (a grading run grades
    every item of a paper, answered or not)."""
    graded = select(func.count(func.distinct(G.c.item_id))).where(G.c.submission_id == S.c.id)
    on_paper = (
        select(func.count())
        .select_from(V)
        .where(V.c.quiz_id == S.c.quiz_id, V.c.student_id == S.c.student_id)
    )
    return graded.scalar_subquery() < on_paper.scalar_subquery()


def pending(conn: Connection, quiz_id: str | None = None) -> list[SubmissionRecord]:
    query = select(S).where(_ungraded()).order_by(S.c.id)
    if quiz_id is not None:
        query = query.where(S.c.quiz_id == quiz_id)
    return [_submission(r) for r in conn.execute(query)]


def tampered(conn: Connection) -> list[int]:
    return [r.id for r in conn.execute(select(S.c.id, S.c.answers, S.c.body_hash).order_by(S.c.id))
            if body_hash(r.answers) != r.body_hash]  # fmt: skip


# --------------------------------------------------------------------------- grades
def insert_grades(
    conn: Connection, submission_id: int, results: dict, grader: str, version: str, at: datetime,
    *, new_only: bool = False,
) -> list[GradeRecord]:  # fmt: skip
    """Add one grade version per item of ``results``: two statements whatever the number
    of items. One SELECT reads the submission's paper (points) and each item's newest
    version; one multi-row INSERT adds version newest + 1 of every item. A concurrent
    writer that committed the same version first makes the INSERT fail on the unique
    (submission, item, version) key, and the store reruns the transaction, which then
    reads the winner's version. With ``new_only`` an item that has a grade already (a
    concurrent grader was first) is left as it is: only first versions are added, and
    only the rows added are returned, in item order."""
    newest = (
        select(func.max(G.c.version))
        .where(G.c.submission_id == S.c.id, G.c.item_id == V.c.item_id)
        .scalar_subquery()
    )
    on_paper = and_(V.c.quiz_id == S.c.quiz_id, V.c.student_id == S.c.student_id)
    rows = conn.execute(
        select(S.c.quiz_id, S.c.student_id, V.c.item_id, V.c.points, newest.label("newest"))
        .select_from(S.outerjoin(V, on_paper))
        .where(S.c.id == submission_id)
    ).all()
    if not rows:
        raise NotFoundError(f"no submission {submission_id!r} in the gradebook")
    quiz_id, student_id = rows[0].quiz_id, rows[0].student_id
    paper = {r.item_id: (r.points, r.newest or 0) for r in rows if r.item_id is not None}
    new = []
    for item_id, result in sorted(results.items()):  # one lock order for every writer
        if item_id not in paper:
            raise NotFoundError(f"item {field_name(item_id)} is not on submission {submission_id}")
        worth, stored = paper[item_id]
        if result.points > worth * (1 + 1e-9):
            raise GradebookError(
                f"{item_id}: {result.points:g} points given, the item has {worth:g}"
            )
        if new_only and stored:
            continue
        feedback = result.model_dump(mode="json", exclude={"score", "points", "confidence"})
        new.append({
            "submission_id": submission_id, "item_id": item_id, "version": stored + 1,
            "score": result.score, "points": result.points, "feedback": canonical_json(feedback),
            "grader": grader, "grader_version": version, "confidence": result.confidence,
            "created_at": at,
        })  # fmt: skip
    if not new:
        return []
    made = conn.execute(insert(G).returning(*G.c), new).all()  # one INSERT ... VALUES (..), ..
    return sorted((_grade(r, quiz_id, student_id) for r in made), key=lambda g: g.item_id)


def _grade(row: Row, quiz_id: str, student_id: str) -> GradeRecord:
    return GradeRecord(
        id=row.id, submission_id=row.submission_id, quiz_id=quiz_id, student_id=student_id,
        item_id=row.item_id, version=row.version, score=row.score, points=row.points,
        feedback=json.loads(row.feedback), grader=row.grader,
        grader_version=row.grader_version, confidence=row.confidence, created_at=row.created_at,
    )  # fmt: skip


def _latest_only(query):
    g2 = G.alias("g2")
    newest = (
        select(func.max(g2.c.version))
        .where(g2.c.submission_id == G.c.submission_id, g2.c.item_id == G.c.item_id)
        .scalar_subquery()
    )
    return query.where(G.c.version == newest)


def grades(
    conn: Connection,
    *,
    quiz_id: str | None = None,
    student_id: str | None = None,
    submission_id: int | None = None,
    item_id: str | None = None,
    latest: bool,
) -> list[GradeRecord]:
    query = select(G, S.c.quiz_id.label("s_quiz"), S.c.student_id.label("s_student")).join(
        S, S.c.id == G.c.submission_id
    )
    for column, value in ((S.c.quiz_id, quiz_id), (S.c.student_id, student_id),
                          (G.c.submission_id, submission_id), (G.c.item_id, item_id)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if latest:
        query = _latest_only(query)
    query = query.order_by(G.c.submission_id, G.c.item_id, G.c.version)
    return [_grade(r, r.s_quiz, r.s_student) for r in conn.execute(query)]


# --------------------------------------------------------------------------- exports
def totals(conn: Connection, quiz_id: str, policy: str) -> list[StudentTotal]:
    row = _quiz_row(conn, quiz_id)
    max_points = dict(conn.execute(
        select(V.c.student_id, func.sum(V.c.points)).where(V.c.quiz_id == quiz_id)
        .group_by(V.c.student_id)
    ).all())  # fmt: skip
    n_items = len(json.loads(row.item_ids))
    subs: dict[str, list[int]] = {}
    for sid, sub_id in conn.execute(
        select(S.c.student_id, S.c.id).where(S.c.quiz_id == quiz_id).order_by(S.c.id)
    ):
        subs.setdefault(sid, []).append(sub_id)
    earned: dict[int, dict[str, float]] = {}
    for g in grades(conn, quiz_id=quiz_id, latest=True):
        earned.setdefault(g.submission_id, {})[g.item_id] = g.points
    out = []
    for student in json.loads(row.students):
        sid = student["student_id"]
        mine = subs.get(sid, [])
        complete = [s for s in mine if len(earned.get(s, {})) == n_items]
        if policy == "last":
            chosen = mine[-1] if mine else None
        else:
            chosen = max(complete, key=lambda s: sum(earned[s].values()), default=None)
        items = earned.get(chosen, {}) if chosen is not None else {}
        points = sum(items.values()) if chosen in complete else None
        out.append(StudentTotal(sid, student["name"], student["email"], len(mine), chosen,
                                points, max_points.get(sid, 0.0), dict(items)))  # fmt: skip
    return out


def audit_rows(conn: Connection, quiz_id: str) -> list[AuditRow]:
    row = _quiz_row(conn, quiz_id)
    order = json.loads(row.item_ids)
    latest = {(g.submission_id, g.item_id): g for g in grades(conn, quiz_id=quiz_id, latest=True)}
    out = []
    for sub in submissions(conn, quiz_id):
        for item_id in order:
            g = latest.get((sub.id, item_id))
            out.append(AuditRow(
                sub.id, sub.student_id, sub.client_id, sub.attempt_no, sub.submitted_at,
                sub.source, item_id, sub.answers.get(item_id),
                g.score if g else None, g.points if g else None, g.version if g else None,
            ))  # fmt: skip
    return out
