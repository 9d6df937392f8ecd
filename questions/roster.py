"""Reading a class roster: a CSV with columns ``student_id,name,email``.

Every problem is one line naming the file and row; nothing is half-read.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from questions.errors import RosterError
from questions.variants import Student

__all__ = ["REQUIRED_COLUMNS", "read_roster"]

REQUIRED_COLUMNS = ("student_id", "name", "email")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def read_roster(path: str | Path) -> list[Student]:
    """The students of a roster, in file order."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError("no such roster file", path=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read roster: {exc}", path=where) from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise RosterError("the roster is empty (expected a header student_id,name,email)",
                          path=where, line=1)  # fmt: skip
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise RosterError(f"missing column {missing[0]!r} (the header must have "
                          f"{','.join(REQUIRED_COLUMNS)})", path=where, line=1)  # fmt: skip
    index = {c: columns.index(c) for c in REQUIRED_COLUMNS}
    students: list[Student] = []
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(columns):
            raise RosterError(f"expected {len(columns)} columns, found {len(row)}",
                              path=where, line=line)  # fmt: skip
        sid, name, email = (row[index[c]].strip() for c in REQUIRED_COLUMNS)
        if not _ID.match(sid):
            raise RosterError(f"student_id {sid!r} must be letters, digits, '.', '_' or '-' "
                              "(at most 64)", path=where, line=line)  # fmt: skip
        if not name:
            raise RosterError(f"student {sid!r} has no name", path=where, line=line)
        if not _EMAIL.match(email):
            raise RosterError(f"student {sid!r}: {email!r} is not an email address",
                              path=where, line=line)  # fmt: skip
        if sid in first_line:
            raise RosterError(f"duplicate student_id {sid!r} (first on line {first_line[sid]})",
                              path=where, line=line)  # fmt: skip
        first_line[sid] = line
        students.append(Student(student_id=sid, name=name, email=email))
    if not students:
        raise RosterError("the roster has no students", path=where)
    return students
