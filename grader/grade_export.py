"""Gradebook CSV exports: plain, Canvas and Moodle grade imports, and the audit of every
stored submission. Every cell is neutralised against spreadsheet formula injection.

* ``csv``: one row per student: id, name, email, attempts, counted submission, points,
  maximum, then the points of each item.
* ``canvas``: Canvas's gradebook import (``Student, ID, SIS User ID, SIS Login ID,
  Section`` then one assignment column). Canvas matches rows on ``SIS User ID`` (our
  student id) or ``SIS Login ID`` (the email); ``ID`` (Canvas's own) is left empty.
* ``moodle``: Moodle's "Import grades from CSV": ``ID number``, ``Full name``, ``Email
  address`` and the quiz column; map ``ID number`` (or the email) to the user field.
* ``--submissions``: one row per item of every stored attempt (student, client id, time,
  raw answer, newest score and its version), for audits.

A cell that begins with ``= + - @`` (or a tab or carriage return) gets a leading ``'``,
as OWASP advises, so a student named ``=HYPERLINK(...)`` stays text in a spreadsheet.

>>> neutralise("=1+2"), neutralise("-0.3"), neutralise("Ada"), neutralise(2.5)
("'=1+2", "'-0.3", 'Ada', '2.5')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from grader.records import AuditRow, StudentTotal

__all__ = ["FORMATS", "grades_csv", "neutralise", "submissions_csv"]

FORMATS = ("csv", "canvas", "moodle")
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """The cell as text, with a leading ``'`` when a spreadsheet would run it."""
    if cell is None:
        return ""
    text = f"{cell:.10g}" if isinstance(cell, float) else str(cell)
    return "'" + text if text.startswith(_RISKY) else text


def _write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([neutralise(c) for c in row] for row in rows)
    return buf.getvalue()


def grades_csv(
    totals: Sequence[StudentTotal], *, title: str, item_ids: Sequence[str], fmt: str = "csv"
) -> str:
    """One row per student in the format ``fmt`` (see the module docstring). A student
    without a counted, fully graded attempt has an empty grade cell."""
    if fmt == "canvas":
        return _write(
            ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title],
            ([t.name, "", t.student_id, t.email, "", t.points] for t in totals),
        )
    if fmt == "moodle":
        return _write(
            ["ID number", "Full name", "Email address", title],
            ([t.student_id, t.name, t.email, t.points] for t in totals),
        )
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}")
    header = ["student_id", "name", "email", "attempts", "submission_id", "points",
              "max_points", *item_ids]  # fmt: skip
    return _write(
        header,
        (
            [
                t.student_id,
                t.name,
                t.email,
                t.attempts,
                t.submission_id,
                t.points,
                t.max_points,
                *(t.items.get(i) for i in item_ids),
            ]  # fmt: skip
            for t in totals
        ),
    )


def submissions_csv(rows: Sequence[AuditRow]) -> str:
    """The audit: one row per item of every stored submission, oldest first."""
    header = ["submission_id", "student_id", "client_id", "attempt_no", "submitted_at",
              "source", "item_id", "answer", "score", "points", "grade_version"]  # fmt: skip
    return _write(
        header,
        (
            [
                r.submission_id,
                r.student_id,
                r.client_id,
                r.attempt_no,
                r.submitted_at.isoformat(timespec="microseconds"),
                r.source,
                r.item_id,
                r.answer,
                r.score,
                r.points,
                r.grade_version,
            ]  # fmt: skip
            for r in rows
        ),
    )
