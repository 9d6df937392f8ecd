"""The student's answers on disk: the autosaved sheet, submit-once, signed offline files.

The **sheet** (``answers-QUIZ-STUDENT.json``, written by ``take``)::

    {"format": "alignquiz/answers@1", "quiz_id", "student_id",
     "answers": {item_id: text}, "pending": {"client_id", "digest"} | null,
     "submitted": [{"submission_id", "client_id", "at"}]}

Every write is atomic (:func:`write_atomic`): a crash leaves the old sheet or the new
one, never half of one. :func:`send` keeps the client id of a submission in
``pending`` until the server has answered, so a re-run after a lost answer replays the
same id (the server answers the stored result) instead of spending a second attempt.

A **signed submission** (``submit --to-file``, for a lab without a server)::

    {"format": "alignquiz/signed-submission@1", "quiz_id", "student_id", "client_id",
     "answers", "created_at", "signature"}

``signature`` is HMAC-SHA256, keyed with the student's access token, of the canonical
JSON of every other field. The instructor, who holds ``private/tokens.csv``, checks it
with :func:`verify_signed`: a file altered after signing is refused
(:class:`TamperedSubmissionError`); :func:`import_signed` stores the files' submissions
(``source="file"``) under the quiz's attempt limit, a repeated import changing nothing.

>>> doc = sign_submission("q1", "s001", "c-1", {"a": "1.2"}, "t" * 20, "2026-11-25T10:00:00Z")
>>> verify_signed(doc, {"s001": "t" * 20})["answers"]
{'a': '1.2'}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.errors import AnswersError

__all__ = [
    "SHEET_FORMAT",
    "SIGNED_FORMAT",
    "TamperedSubmissionError",
    "answers_from",
    "format_problems",
    "import_signed",
    "is_sheet",
    "load_sheet",
    "read_json",
    "send",
    "sheet_path",
    "sign_submission",
    "verify_signed",
    "write_atomic",
]

SHEET_FORMAT = "alignquiz/answers@1"
SIGNED_FORMAT = "alignquiz/signed-submission@1"
_SIGNED_FIELDS = ("format", "quiz_id", "student_id", "client_id", "answers", "created_at")


class TamperedSubmissionError(AnswersError):
    """A signed submission file whose signature does not match its content."""


# --------------------------------------------------------------------------- files
def write_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` as JSON to ``path`` all at once: a temporary file in the same
    folder, flushed to disk, then renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or an :class:`AnswersError` naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnswersError(f"cannot read answers: {exc}", path=str(path)) from None


# --------------------------------------------------------------------------- the sheet
def sheet_path(save: str | None, paper: Mapping[str, Any]) -> Path:
    """``save``, or ``answers-QUIZ-STUDENT.json`` in the current folder."""
    return Path(save) if save else Path(f"answers-{paper['quiz_id']}-{paper['student_id']}.json")


def is_sheet(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == SHEET_FORMAT


def load_sheet(path: Path, paper: Mapping[str, Any]) -> dict[str, Any]:
    """The sheet of this paper at ``path`` (a new, empty one if there is none yet)."""
    if not Path(path).exists():
        return {"format": SHEET_FORMAT, "quiz_id": paper["quiz_id"],
                "student_id": paper["student_id"], "answers": {}, "pending": None,
                "submitted": []}  # fmt: skip
    doc = read_json(path)
    if not is_sheet(doc) or not isinstance(doc.get("answers"), dict):
        raise AnswersError("not an alignquiz answers file", path=str(path))
    if (doc.get("quiz_id"), doc.get("student_id")) != (paper["quiz_id"], paper["student_id"]):
        raise AnswersError(f"holds answers of {doc.get('student_id')} to quiz "
                           f"{doc.get('quiz_id')}, not this paper", path=str(path))  # fmt: skip
    doc.setdefault("pending", None)
    doc.setdefault("submitted", [])
    return doc


def format_problems(items: list, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(item_id, message)`` for every answer that cannot be read or answers nothing
    (``items``: the paper's :class:`~grader.api.PaperItem`)."""
    from grader.api import parse_answer
    from grader.parse import FormatError

    by_id = {i.item_id: i for i in items}
    problems = []
    for item_id, raw in answers.items():
        if item_id not in by_id:
            problems.append((str(item_id), "no such item on your paper"))
        elif not isinstance(raw, str):
            problems.append((item_id, "an answer must be text"))
        else:
            parsed = parse_answer(by_id[item_id], raw, by_id[item_id].max_words)
            if isinstance(parsed, FormatError):
                problems.append((item_id, parsed.message))
    return problems


def answers_from(path: Path, paper: Mapping[str, Any], items: list):
    """``(answers, sheet)`` from a sheet or a plain ``{item_id: answer}`` file (``sheet``
    is None for the latter), every answer checked; a :class:`~grader.client.ClientError`
    (code ``format_error``) names what cannot be read, and nothing is sent."""
    from grader.client import ClientError

    doc = read_json(path)
    sheet = load_sheet(path, paper) if is_sheet(doc) else None
    answers = sheet["answers"] if sheet is not None else doc
    if not isinstance(answers, dict) or not answers:
        raise ClientError("give a JSON object {item_id: answer} with at least one answer",
                          code="invalid_input", field="answers")  # fmt: skip
    problems = format_problems(items, answers)
    if problems:
        shown = "; ".join(f"{i}: {m}" for i, m in problems)
        raise ClientError(f"nothing was sent (no attempt used): {shown}", code="format_error",
                          field=f"answers.{problems[0][0]}")  # fmt: skip
    return answers, sheet


def send(client, paper: Mapping[str, Any], items: list, path: Path,
         client_id: str | None) -> dict[str, Any]:  # fmt: skip
    """Check and submit the answers in ``path`` once, whatever the failures: a sheet
    keeps the client id in ``pending`` until the server has answered."""
    from datetime import UTC, datetime

    from grader.client import new_client_id

    answers, sheet = answers_from(path, paper, items)
    digest = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()
    if sheet is not None and not client_id:
        pending = sheet.get("pending") or {}
        client_id = pending.get("client_id") if pending.get("digest") == digest else None
        client_id = client_id or new_client_id()
        sheet["pending"] = {"client_id": client_id, "digest": digest}
        write_atomic(path, sheet)  # a re-run after a lost answer replays this id
    result = client.submit(answers, client_id)
    if sheet is not None:
        sheet["pending"] = None
        sheet["submitted"].append({"submission_id": result["submission_id"],
                                   "client_id": result["client_id"],
                                   "at": datetime.now(UTC).isoformat()})  # fmt: skip
        write_atomic(path, sheet)
    return result


# --------------------------------------------------------------------------- signed files
def _signature(doc: Mapping[str, Any], token: str) -> str:
    from grader.records import canonical_json

    body = canonical_json({k: doc[k] for k in _SIGNED_FIELDS})
    return hmac.new(token.encode(), body.encode("ascii"), hashlib.sha256).hexdigest()


def sign_submission(quiz_id: str, student_id: str, client_id: str, answers: Mapping[str, str],
                    token: str, created_at: str) -> dict[str, Any]:  # fmt: skip
    """A signed submission document (see the module docstring)."""
    doc = {"format": SIGNED_FORMAT, "quiz_id": quiz_id, "student_id": student_id,
           "client_id": client_id, "answers": dict(answers), "created_at": created_at}  # fmt: skip
    return {**doc, "signature": _signature(doc, token)}


def verify_signed(doc: Any, tokens: Mapping[str, str], path: str | None = None) -> dict:
    """``doc`` if it is a signed submission whose signature matches the token of its
    student in ``tokens`` (``{student_id: token}``); :class:`TamperedSubmissionError`
    otherwise (the message never shows a token)."""
    where = {"path": path}
    if not isinstance(doc, dict) or doc.get("format") != SIGNED_FORMAT:
        raise AnswersError("not a signed alignquiz submission", **where)
    missing = [k for k in (*_SIGNED_FIELDS, "signature") if k not in doc]
    if missing:
        raise TamperedSubmissionError(f"incomplete: no {', '.join(missing)}", **where)
    extra = sorted(set(doc) - {*_SIGNED_FIELDS, "signature"})
    if extra:
        raise TamperedSubmissionError(f"fields that were never signed: {', '.join(extra)}",
                                      **where)  # fmt: skip
    token = tokens.get(doc["student_id"]) if isinstance(doc["student_id"], str) else None
    if token is None:
        raise TamperedSubmissionError(f"no token for student {doc['student_id']!r}", **where)
    signature = doc["signature"]
    if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(doc, token)):
        raise TamperedSubmissionError("the signature does not match: the file was altered "
                                      "after it was signed, or signed with another token",
                                      **where)  # fmt: skip
    return doc


def import_signed(book, paths, tokens: Mapping[str, str], *, enforce_deadline: bool = False):
    """Store the submissions of signed files in ``book`` (a :class:`grader.store.Gradebook`)
    with ``source="file"``: every file is verified first, so one altered file imports
    nothing. The quiz's attempt limit applies; its deadline only with
    ``enforce_deadline`` (then against the time of the import, since the time in a file
    is the student's word). Importing a file again replays it (no second row).
    Returns the stored :class:`~grader.records.SubmissionRecord` of each file."""
    docs = [verify_signed(read_json(Path(p)), tokens, str(p)) for p in paths]
    stored = []
    for doc in docs:
        policy = book.policy(doc["quiz_id"])
        stored.append(book.submit(
            doc["student_id"], doc["quiz_id"], doc["client_id"], doc["answers"],
            max_attempts=policy.max_attempts,
            deadline=policy.deadline if enforce_deadline else None, source="file",
        ))  # fmt: skip
    return stored
