"""LMS response files in: Canvas's "Student Analysis" CSV and Moodle's "Responses" report,
read as attempts on our items. Grading and storing them is :mod:`grader.lms_import`.

An LMS does not know our item ids in its reports: Canvas heads each question column
``"<Canvas question id>: <question text, tags stripped>"`` (ids it made at import), and
Moodle numbers slots (``Response 1``, optionally ``Question 1``, the question's text as
the student saw it). What survives from our exports is the *question text*. So the
catalogue of what the LMS holds is rebuilt from our own export of the quiz (the bytes
the instructor imported: ``questions.export.qti12`` / ``moodle``), and questions are
matched on a fingerprint of their text (tags, entities, case, spacing and punctuation
ignored), which names the item and, for a question group, the variant. Canvas formula
questions carry their drawn values in each response (``x=>0.3,y=>1.2,answer``): they
name the variable set, that is our variant. Moodle without ``Question N`` columns falls
back to the slot order, which must then be the quiz's order.

An LMS draws a variant for each student itself, so a student is graded on the variant
the LMS showed them (one of those our roster drew, with our key and tolerance), not on
the one we generated for them.

Canvas: Classic Quizzes (New Quizzes has no Student Analysis report).
Students are matched by SIS user id (Canvas ``sis_id`` = our student id) or by email
(Moodle ``Email address``, case-insensitive). Every unknown student and question in a
file is listed in one :class:`LmsResponseError`; a missing column is one too.

>>> fingerprint("<p>Compute <em>r</em> = 1.5 &amp; A.</p>")
'computer15a'
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import html
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from grader.errors import GraderError
from questions.variants import Quiz, Variant

__all__ = [
    "FORMATS",
    "Catalogue",
    "LmsAnswer",
    "LmsAttempt",
    "LmsQuestion",
    "LmsResponseError",
    "catalogue",
    "fingerprint",
    "read_responses",
]

FORMATS = ("canvas", "moodle")
_EXPORT_DATE = datetime.date(2026, 1, 1)  # any date: only the question texts are read
_QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
_TAG = re.compile(r"<[^>]*>")
_DECIMAL = re.compile(r"\d+\.\d+")
_CANVAS_QUESTION = re.compile(r"^(\d+):\s?(.*)$", re.S)
_MOODLE_SLOT = re.compile(r"^(Question|Response|Right answer)\s+(\d+)$")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")
_SHOWN = 3  # unknowns named in a message, per kind
_UNFINISHED = ("In progress", "Overdue", "Never submitted", "Abandoned")  # Moodle, English
_LOOSE = 40  # shortest fingerprint matched by containment


class LmsResponseError(GraderError):
    """An LMS response file is malformed or names students or questions we do not know."""


def fingerprint(text: str) -> str:
    """Question or option text reduced to what every LMS keeps: letters and digits,
    case-folded, with tags and HTML entities removed first and trailing zeros of
    decimals dropped (Moodle prints a dataset value ``0.30`` as ``0.3``)."""
    text = _TAG.sub(" ", text)
    for _ in range(3):  # entities escaped once or twice over
        text, before = html.unescape(text), text
        if text == before:
            break
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DECIMAL.sub(lambda m: m.group().rstrip("0").rstrip("."), text)  # 0.30 -> 0.3
    return "".join(ch for ch in text if ch.isalnum())


@dataclass(frozen=True)
class LmsQuestion:
    """A question as the LMS holds it: the item, and the variants it may have shown."""

    item_id: str
    draws: dict[str, Variant]
    """Export ident -> the variant behind it (one, or a formula question's sets)."""
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    """Canvas formula questions: variable set ident -> {Canvas variable: value}."""


@dataclass(frozen=True)
class Catalogue:
    """Every question of our export for one LMS, by text fingerprint and by item."""

    lms: str
    by_text: dict[str, list[LmsQuestion]]
    by_item: dict[str, list[LmsQuestion]]

    def find(self, text: str) -> LmsQuestion | None:
        """The question whose text this is; None when unknown or ambiguous. When no
        text is equal, one question whose text contains this one, or is contained in it
        (an LMS that adds an image's name or drops a caption), is accepted."""
        given = fingerprint(text)
        found = self.by_text.get(given, [])
        if not found and len(given) >= _LOOSE:
            found = [q for fp, qs in self.by_text.items() if fp in given or given in fp
                     for q in qs]  # fmt: skip
            found = found if len({id(q) for q in found}) == 1 else []
        return found[0] if len({q.item_id for q in found}) == 1 else None


def catalogue(quiz: Quiz, lms: str) -> Catalogue:
    """What ``lms`` holds once our export of ``quiz`` is imported into it."""
    from questions.export import moodle, qti12
    from questions.export.plan import plan_quiz

    limit = qti12.MAX_VAR_SETS if lms == "canvas" else moodle.MAX_DATASET_ITEMS
    plans = plan_quiz(quiz, limit)
    draws = {d.ident: (p, d) for p in plans for d in p.draws}
    questions: list[tuple[str, LmsQuestion]] = []
    if lms == "canvas":
        for text, idents, values in _canvas_questions(qti12.export(quiz, _EXPORT_DATE)):
            item = draws[idents[0]][0].spec.id
            found = {i: draws[i][1].variant for i in idents}
            questions.append((text, LmsQuestion(item, found, values)))
    else:
        for text, ident, kind in _moodle_questions(moodle.export(quiz, _EXPORT_DATE)):
            plan, first = draws[ident]
            if kind != "calculated":
                questions.append((text, LmsQuestion(plan.spec.id, {ident: first.variant})))
                continue
            for d in plan.draws:  # Moodle shows the text with one dataset item filled in
                filled = text
                for name in plan.param_names:
                    filled = filled.replace("{" + name + "}", d.variant.display[name])
                questions.append((filled, LmsQuestion(plan.spec.id, {d.ident: d.variant})))
    by_text: dict[str, list[LmsQuestion]] = {}
    by_item: dict[str, list[LmsQuestion]] = {}
    for text, q in questions:
        by_text.setdefault(fingerprint(text), []).append(q)
        by_item.setdefault(q.item_id, []).append(q)
    return Catalogue(lms, by_text, by_item)


def _canvas_questions(package: bytes):
    """(text, draw idents, formula values) of each question of a Canvas QTI 1.2 zip."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        name = next(n for n in zf.namelist() if n.count("/") == 1 and
                    n.split("/")[0] + ".xml" == n.split("/")[1])  # fmt: skip
        root = ElementTree.fromstring(zf.read(name))
    for item in root.iter(f"{_QTI}item"):
        text = item.findtext(f"{_QTI}presentation/{_QTI}material/{_QTI}mattext") or ""
        sets = item.findall(f".//{_QTI}var_set")
        if not sets:
            yield text, [item.get("ident")], {}
            continue
        values = {
            s.get("ident"): {v.get("name"): float(v.text or "nan") for v in s.findall(f"{_QTI}var")}
            for s in sets
        }
        yield text, list(values), values


def _moodle_questions(xml: bytes):
    """(text, idnumber, type) of each question of a Moodle XML export."""
    for q in ElementTree.fromstring(xml).iter("question"):
        if q.get("type") != "category":
            yield q.findtext("questiontext/text") or "", q.findtext("idnumber"), q.get("type")


# --------------------------------------------------------------------------- attempts
@dataclass(frozen=True)
class LmsAnswer:
    """One response: the variant the LMS showed, and what the student gave."""

    variant: Variant
    response: str
    """The response as the LMS wrote it ('' for none); a formula question's answer only."""
    choices: tuple[str, ...] = ()
    """Multiple answer: the chosen options' texts, as the LMS listed them."""


@dataclass(frozen=True)
class LmsAttempt:
    """One row of a response file: one attempt of one student."""

    line: int
    student_id: str
    client_id: str
    order: tuple
    """Sorts a student's attempts oldest first."""
    submitted_at: datetime.datetime | None
    answers: dict[str, LmsAnswer]


class _Problems:
    """Unknown students and questions, gathered so one error names them all."""

    def __init__(self, path: Path):
        self.path = path
        self.students: dict[str, int] = {}
        self.questions: dict[str, str] = {}

    def student(self, who: str, line: int) -> None:
        self.students.setdefault(who, line)

    def question(self, where: str, text: str) -> None:
        self.questions.setdefault(where, " ".join(text.split())[:60])

    def raise_any(self) -> None:
        parts = []
        for noun, found in (("student", self.students), ("question", self.questions)):
            if found:
                named = [f"{k!r} (line {v})" if noun == "student" else f"{k} {v!r}"
                         for k, v in list(found.items())[:_SHOWN]]  # fmt: skip
                more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
                parts.append(f"{len(found)} unknown {noun}{'s' * (len(found) > 1)}: "
                             f"{', '.join(named)}{more}")  # fmt: skip
        if parts:
            raise LmsResponseError("; ".join(parts) + "; nothing was imported",
                                   path=str(self.path))  # fmt: skip


def _read_csv(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # Moodle writes a BOM, Canvas none
    except (OSError, UnicodeDecodeError) as exc:
        raise LmsResponseError(f"cannot read the response file: {exc}", path=str(path)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, start = [], 1
    for row in reader:  # (first line of the record, cells): an essay may span lines
        rows.append((start, row))
        start = reader.line_num + 1
    if not rows:
        raise LmsResponseError("the response file is empty", path=str(path))
    return rows


def _column(path: Path, header: list[str], *names: str) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise LmsResponseError(f"missing column {names[0]!r}", path=str(path))


def _client_id(source: str, student_id: str, *keys: str) -> str:
    tag = hashlib.blake2b("\x1f".join(keys).encode(), digest_size=8).hexdigest()
    return f"{source}:{student_id}:{tag}"


def _single(question: LmsQuestion) -> Variant:
    return next(iter(question.draws.values()))


def read_responses(path: Path, fmt: str, quiz: Quiz, cat: Catalogue) -> list[LmsAttempt]:
    """Every attempt in a response file, checked against ``quiz`` (nothing is stored)."""
    if fmt not in FORMATS:
        raise LmsResponseError(f"unknown LMS {fmt!r} (one of {', '.join(FORMATS)})")
    rows = _read_csv(Path(path))
    reader = _read_canvas if fmt == "canvas" else _read_moodle
    return reader(Path(path), rows, quiz, cat)


# --------------------------------------------------------------------------- Canvas
def _read_canvas(path: Path, rows, quiz: Quiz, cat: Catalogue) -> list[LmsAttempt]:
    header = rows[0][1]
    sis = _column(path, header, "sis_id")
    submitted = _column(path, header, "submitted")
    attempt = header.index("attempt") if "attempt" in header else None
    problems = _Problems(path)
    columns: list[tuple[int, LmsQuestion]] = []
    for i, title in enumerate(header):
        match = _CANVAS_QUESTION.match(title)
        if not match or i <= submitted:
            continue
        question = cat.find(match.group(2))
        if question is None:
            problems.question(f"column {i + 1}", match.group(2))
        else:
            columns.append((i, question))
    if not columns and not problems.questions:
        raise LmsResponseError("missing column '<question id>: <question text>'", path=str(path))
    roster = {s.student_id for s in quiz.students}
    out = []
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        row = row + [""] * (len(header) - len(row))
        sid = row[sis].strip()
        if sid not in roster:
            problems.student(sid or "(no sis_id)", line)
            continue
        answers: dict[str, LmsAnswer] = {}
        for i, question in columns:
            response, points = row[i], row[i + 1] if i + 1 < len(row) else ""
            if not response.strip() and not points.strip():
                continue  # not on this student's paper (another question of the group)
            if question.values:  # formula question: "x=>0.3,y=>1.2,answer"
                answer = _canvas_formula(question, response)
                if answer is None:
                    problems.question(f"column {i + 1}, line {line}", response)
                    continue
            else:
                choices = tuple(p.replace("\\,", ",") for p in _UNESCAPED_COMMA.split(response))
                answer = LmsAnswer(_single(question), response, choices)
            answers[question.item_id] = answer
        n = row[attempt].strip() if attempt is not None else ""
        order = (int(n) if n.isdigit() else 0, row[submitted])
        out.append(LmsAttempt(line, sid, _client_id("canvas", sid, n, row[submitted]), order,
                              _canvas_time(row[submitted]), answers))  # fmt: skip
    problems.raise_any()
    return out


def _canvas_formula(question: LmsQuestion, response: str) -> LmsAnswer | None:
    """The variant a formula question's response names by its values, or None."""
    parts = [p.replace("\\,", ",") for p in _UNESCAPED_COMMA.split(response)]
    given: dict[str, float] = {}
    for part in parts[:-1]:
        name, _, value = part.partition("=>")
        try:
            given[name.strip()] = float(value)
        except ValueError:
            return None
    for ident, values in question.values.items():
        if values.keys() == given.keys() and all(
            math.isclose(values[k], given[k], rel_tol=1e-9, abs_tol=1e-12) for k in values
        ):
            return LmsAnswer(question.draws[ident], parts[-1].strip())
    return None


def _canvas_time(text: str) -> datetime.datetime | None:
    """Canvas writes ``2026-11-20 14:03:11 UTC``."""
    try:
        when = datetime.datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


# --------------------------------------------------------------------------- Moodle
def _read_moodle(path: Path, rows, quiz: Quiz, cat: Catalogue) -> list[LmsAttempt]:
    header = [h.strip() for h in rows[0][1]]
    email = _column(path, header, "Email address")
    state = next((header.index(h) for h in ("State", "Status") if h in header), None)
    started = next((header.index(h) for h in ("Started on", "Started") if h in header), None)
    slots: dict[int, dict[str, int]] = {}
    for i, title in enumerate(header):
        match = _MOODLE_SLOT.match(title)
        if match:
            slots.setdefault(int(match.group(2)), {})[match.group(1)] = i
    if not any("Response" in s for s in slots.values()):
        raise LmsResponseError("missing column 'Response 1'", path=str(path))
    problems = _Problems(path)
    by_slot = _moodle_slots(path, slots, quiz, cat, problems)
    roster = {s.email.casefold(): s.student_id for s in quiz.students}
    out = []
    for line, row in rows[1:]:
        row = row + [""] * (len(header) - len(row))
        if not row[email].strip():
            continue  # blank, or the "Overall average" row
        if state is not None and row[state].strip() in _UNFINISHED:
            continue  # no submitted attempt to grade
        sid = roster.get(row[email].strip().casefold())
        if sid is None:
            problems.student(row[email].strip(), line)
            continue
        answers: dict[str, LmsAnswer] = {}
        for slot, cols in sorted(slots.items()):
            if "Response" not in cols:
                continue
            question = by_slot.get(slot)
            if "Question" in cols:
                question = cat.find(row[cols["Question"]])
                if question is None:
                    problems.question(f"Question {slot}, line {line}", row[cols["Question"]])
                    continue
            if question is None:
                continue
            response = row[cols["Response"]].strip()
            response = "" if response == "-" else response
            answers[question.item_id] = LmsAnswer(_single(question), response,
                                                  tuple(response.split("; ")))  # fmt: skip
        key = row[started] if started is not None else str(line)
        out.append(LmsAttempt(line, sid, _client_id("moodle", sid, key),
                              (line,), None, answers))  # fmt: skip
    problems.raise_any()
    return out


def _moodle_slots(
    path: Path, slots: dict[int, dict[str, int]], quiz: Quiz, cat: Catalogue, problems: _Problems
) -> dict[int, LmsQuestion]:
    """Slot -> question when the file has no ``Question N`` columns: the quiz's order."""
    blind = sorted(n for n, cols in slots.items() if "Response" in cols and "Question" not in cols)
    if not blind:
        return {}
    if len(slots) != len(quiz.item_ids):
        raise LmsResponseError(
            f"{len(slots)} questions for {len(quiz.item_ids)} items: tick 'Question text' "
            "in the Responses report so each question can be matched (missing column "
            f"'Question {blind[0]}')", path=str(path),
        )  # fmt: skip
    found = {}
    for n in blind:
        item_id = quiz.item_ids[n - 1]
        questions = cat.by_item.get(item_id, [])
        if len(questions) != 1:
            raise LmsResponseError(
                f"missing column 'Question {n}' (item {item_id} has {len(questions)} variants "
                "in Moodle; its question text says which one each student saw)", path=str(path),
            )  # fmt: skip
        found[n] = questions[0]
    return found
