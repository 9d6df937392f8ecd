"""Who may submit, and under which rules: access tokens and each quiz's policy.

A token is a random string handed to one student for one quiz (``quiz generate`` writes
them to ``DIR/private/tokens.csv``); the gradebook stores only its sha256, so a leaked
database does not leak tokens. A token can be revoked; an unknown or revoked token is
one :class:`UnknownTokenError`, whose message never echoes the token.

>>> token_hash("s3cret-token-of-ada-0123456789")[:16]
'aea918b53d724686'
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, select, update

from grader.db import GradebookError, InvalidInputError, NotFoundError, UnknownTokenError
from grader.records import QuizPolicy, TokenOwner
from grader.schema import Quiz, Token, Variant

__all__ = [
    "RELEASES",
    "TOKEN",
    "get_policy",
    "issue_tokens",
    "owner_of",
    "read_tokens_csv",
    "revoke",
    "set_policy",
    "token_hash",
]

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""A token: 16 to 128 URL-safe characters (``secrets.token_urlsafe(32)`` gives 43)."""
RELEASES = ("immediately", "after_deadline")
Q, T, V = Quiz.__table__, Token.__table__, Variant.__table__


def token_hash(token: str) -> str:
    """sha256 (hex) of a token: what the gradebook stores and looks up."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def read_tokens_csv(path: Path) -> dict[str, str]:
    """``{student_id: token}`` from ``DIR/private/tokens.csv`` (columns student_id,token)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"student_id", "token"} <= set(reader.fieldnames):
            raise InvalidInputError("the header must have student_id,token", field=str(path))
        return {row["student_id"]: row["token"] for row in reader}


def _checked(token: object) -> str:
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise UnknownTokenError("unknown or revoked token")
    return token


def issue_tokens(conn: Connection, quiz_id: str, tokens: Mapping[str, str], now: datetime) -> int:
    """Store the hashes of ``{student_id: token}``; return how many were new. A token
    already stored for the same student is skipped; for anyone else it is refused."""
    on_quiz = set(
        conn.execute(select(V.c.student_id).where(V.c.quiz_id == quiz_id).distinct()).scalars()
    )
    if not on_quiz:
        raise NotFoundError(f"no quiz {quiz_id} in the gradebook")
    rows = []
    for student_id, token in sorted(tokens.items()):
        if student_id not in on_quiz:
            raise NotFoundError(f"student {student_id!r} is not on quiz {quiz_id}")
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise InvalidInputError(
                "a token must have 16 to 128 letters, digits, _ or -", field=f"tokens.{student_id}"
            )
        digest = token_hash(token)
        stored = conn.execute(select(T).where(T.c.token_hash == digest)).one_or_none()
        if stored is None:
            rows.append({"token_hash": digest, "quiz_id": quiz_id, "student_id": student_id,
                         "created_at": now, "revoked_at": None})  # fmt: skip
        elif (stored.quiz_id, stored.student_id) != (quiz_id, student_id):
            raise GradebookError(f"the token of {student_id} is already someone else's")
    if rows:
        conn.execute(T.insert(), rows)
    return len(rows)


def owner_of(conn: Connection, token: object) -> TokenOwner:
    """The quiz and student of a live token, or :class:`UnknownTokenError`."""
    row = conn.execute(
        select(T.c.quiz_id, T.c.student_id).where(
            T.c.token_hash == token_hash(_checked(token)), T.c.revoked_at.is_(None)
        )
    ).one_or_none()
    if row is None:
        raise UnknownTokenError("unknown or revoked token")
    return TokenOwner(row.quiz_id, row.student_id)


def revoke(conn: Connection, token: object, now: datetime) -> TokenOwner:
    """Revoke a live token; return whose it was."""
    owner = owner_of(conn, token)
    conn.execute(update(T).where(T.c.token_hash == token_hash(str(token))).values(revoked_at=now))
    return owner


def set_policy(conn: Connection, quiz_id: str, policy: QuizPolicy) -> None:
    if policy.release not in RELEASES:
        raise GradebookError(f"release must be one of {', '.join(RELEASES)}")
    if policy.max_attempts is not None and (
        isinstance(policy.max_attempts, bool) or not isinstance(policy.max_attempts, int)
        or policy.max_attempts < 1
    ):  # fmt: skip
        raise GradebookError("max_attempts must be a positive integer or None")
    if policy.deadline is not None and policy.deadline.tzinfo is None:
        raise GradebookError("the deadline is a naive datetime; give a timezone (e.g. UTC)")
    done = conn.execute(
        update(Q).where(Q.c.quiz_id == quiz_id).values(
            max_attempts=policy.max_attempts, deadline=policy.deadline, release=policy.release
        )
    )  # fmt: skip
    if done.rowcount != 1:
        raise NotFoundError(f"no quiz {quiz_id} in the gradebook")


def get_policy(conn: Connection, quiz_id: str) -> QuizPolicy:
    row = conn.execute(
        select(Q.c.max_attempts, Q.c.deadline, Q.c.release).where(Q.c.quiz_id == quiz_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no quiz {quiz_id} in the gradebook")
    return QuizPolicy(row.max_attempts, row.deadline, row.release)
