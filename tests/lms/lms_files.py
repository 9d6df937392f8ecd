"""Response files as Canvas and Moodle write them, for a quiz imported from our export.

The LMS side is simulated from the *exported bytes* (what the LMS imported), never from
our catalogue: question texts, option texts, groups, formula variable sets and Moodle
categories are read back from the QTI 1.2 zip and the Moodle XML. Which variant each
student sees is the LMS's choice (here: by student index). ``answer(i, variant)`` says
what student ``i`` answers to a variant: a number, option texts, or an essay.

Shapes follow the LMS source:

* Canvas ``Quizzes::QuizStatistics::StudentAnalysis#to_csv``: ``name, id, sis_id,
  section, section_id, section_sis_id, submitted, attempt``, then per question
  ``"<id>: <text, tags stripped>"`` and a points column headed by its points possible
  (``2.0``), then ``n correct, n incorrect, score``; group members get columns after the
  quiz's own questions, in order of first appearance; a question not on a student's
  paper is two empty cells; multiple answers are joined by ``,`` (``\\,`` inside);
  formula questions read ``x=>0.3,y=>1.2,answer``. Ruby's CSV: minimal quoting, ``\\n``.
* Moodle ``quiz_last_responses_table`` (a formula question's text with its dataset
  values as floats: ``0.30`` -> ``0.3``) downloaded as CSV (Spout: UTF-8 BOM, minimal
  quoting, ``\\n``): ``Surname, First name, Email address, State, Started on, Completed,
  Time taken, Grade/<max>``, then per slot ``Question N`` and ``Response N``; a multiple
  answer's choices joined by ``; ``, no response ``-``.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

from questions.export.plan import plan_quiz
from questions.variants import Quiz, Variant

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
SUBMITTED = "2026-11-20 14:{:02d}:11 UTC"


def plain(markup: str) -> str:
    """HTML as an LMS report shows it: tags out, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


@dataclass
class Shown:
    """One question as the LMS showed it to one student."""

    text: str
    variant: Variant
    options: dict[str, str]  # option text (as shown) -> our label
    values: str = ""  # Canvas formula: "x=>0.3,y=>1.2"


def _draws(quiz: Quiz, limit: int = 200) -> dict[str, tuple[object, object]]:
    return {d.ident: (p, d) for p in plan_quiz(quiz, limit) for d in p.draws}


def _options(item, draw, path: str) -> dict[str, str]:
    labels = {f"{draw.ident}{o.source_index}": o.label for o in draw.variant.options}
    return {
        plain(lab.findtext(path) or ""): labels[lab.get("ident")]
        for lab in item.iter(f"{QTI}response_label")
        if lab.get("ident") in labels
    }


# --------------------------------------------------------------------------- Canvas
def canvas_questions(quiz: Quiz, package: bytes) -> list[tuple[int, str, float, list]]:
    """(Canvas id, question text, points, [(Shown, group)]) per question, quiz order."""
    draws = _draws(quiz)
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".xml") and "/" in n
                    and not n.endswith("assessment_meta.xml"))  # fmt: skip
        root = ElementTree.fromstring(zf.read(name))
    out, qid = [], 4100
    for section in root.iter(f"{QTI}section"):
        group = section.get("ident") if section.get("ident") != "root_section" else None
        for item in section.findall(f"{QTI}item"):
            qid += 1
            text = item.findtext(f"{QTI}presentation/{QTI}material/{QTI}mattext") or ""
            points = next(
                float(f.findtext(f"{QTI}fieldentry"))
                for f in item.iter(f"{QTI}qtimetadatafield")
                if f.findtext(f"{QTI}fieldlabel") == "points_possible"
            )
            sets = item.findall(f".//{QTI}var_set")
            shown = []
            for s in sets or [item]:
                plan, draw = draws[s.get("ident")]
                values = ",".join(f"{v.get('name')}=>{float(v.text)!r}"
                                  for v in s.findall(f"{QTI}var"))  # fmt: skip
                options = _options(item, draw, f"{QTI}material/{QTI}mattext")
                shown.append(Shown(text, draw.variant, options, values))
            out.append((qid, text, points, [(s, group) for s in shown]))
    return out


def canvas_student_analysis(
    quiz: Quiz, package: bytes, answer: Callable[[int, Variant], object],
    attempts: dict[str, int] | None = None, students: list | None = None,
) -> str:  # fmt: skip
    """The Student Analysis CSV of ``students`` (default: the roster) having taken the
    quiz once (or ``attempts[sid]`` times, every attempt a row, newest first)."""
    questions = canvas_questions(quiz, package)
    students = students if students is not None else list(quiz.students)
    groups: dict[str, list] = {}
    for q in questions:
        if q[3][0][1]:
            groups.setdefault(q[3][0][1], []).append(q)
    subs = []
    for i, s in enumerate(students):
        for attempt in range((attempts or {}).get(s.student_id, 1), 0, -1):
            paper = []
            for q in questions:
                grp = q[3][0][1]
                if grp and groups[grp][(i + attempt) % len(groups[grp])] is not q:
                    continue
                shown = q[3][(i + attempt) % len(q[3])][0]
                paper.append((q, shown))
            subs.append((i + attempt * 0.01, i, s, attempt, paper))
    subs.sort(key=lambda t: -t[0])  # Canvas: by updated_at, newest first
    columns: list = [q for q in questions if not q[3][0][1]]
    for *_, paper in subs:
        columns += [q for q, _ in paper if q not in columns]
    header = ["name", "id", "sis_id", "section", "section_id", "section_sis_id",
              "submitted", "attempt"]  # fmt: skip
    for q in columns:
        header += [f"{q[0]}: {re.sub(r'<[^>]*>', '', q[1])}", repr(q[2])]
    header += ["n correct", "n incorrect", "score"]
    rows = []
    for _, i, s, attempt, paper in subs:
        row = [s.name, str(9000 + i), s.student_id, "Section 1", "77", "SEC-1",
               SUBMITTED.format(i + attempt), str(attempt)]  # fmt: skip
        on = {q[0]: shown for q, shown in paper}
        for q in columns:
            if q[0] not in on:
                row += ["", ""]
                continue
            given = answer(i + 10 * (attempt - 1), on[q[0]].variant)
            row += [_canvas_cell(on[q[0]], given), "0.0"]
        rows.append(row + ["0", "0", "0.0"])
    return _csv([header, *rows], bom=False)


def _canvas_cell(shown: Shown, given: object) -> str:
    if isinstance(given, list | tuple):  # option labels
        texts = {label: text for text, label in shown.options.items()}
        return ",".join(texts[g].replace(",", "\\,") for g in given)
    if shown.values:
        return f"{shown.values},{'' if given is None else given}"
    return "" if given is None else str(given)


# --------------------------------------------------------------------------- Moodle
def moodle_slots(quiz: Quiz, xml: bytes) -> list[list[Shown]]:
    """Per quiz slot, the questions Moodle may show (a random slot: its category's)."""
    draws = _draws(quiz, 100)
    slots: list[list[Shown]] = []
    base = current = None
    for q in ElementTree.fromstring(xml).iter("question"):
        if q.get("type") == "category":
            current = q.findtext("category/text")
            base = base or current
            if current != base:
                slots.append([])
            continue
        plan, draw = draws[q.findtext("idnumber")]
        text = q.findtext("questiontext/text") or ""
        labels = {o.source_index: o.label for o in draw.variant.options}
        options = {plain(a.findtext("text") or ""): labels[k]
                   for k, a in enumerate(q.findall("answer"))} if labels else {}  # fmt: skip
        shown = []
        if q.get("type") == "calculated":
            for d in plan.draws:
                filled = text
                for ds in q.iter("dataset_definition"):
                    n = ds.findtext("name/text")
                    k = plan.draws.index(d)
                    value = ds.findall(".//dataset_item")[k].findtext("value")
                    filled = filled.replace("{" + n + "}", _php_float(value))
                shown.append(Shown(plain(filled), d.variant, options))
        else:
            shown.append(Shown(plain(text), draw.variant, options))
        if current == base:
            slots.append(shown)
        else:
            slots[-1].extend(shown)
    return slots


def _php_float(value: str) -> str:
    """A dataset value as Moodle prints it in a question (``format_float(x, -1)``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def moodle_responses(
    quiz: Quiz, xml: bytes, answer: Callable[[int, Variant], object], *,
    question_text: bool = True, in_progress: tuple[str, ...] = (), students: list | None = None,
) -> str:  # fmt: skip
    """The Responses report CSV (one finished attempt per student; ``in_progress``
    students get a second, unfinished row)."""
    slots = moodle_slots(quiz, xml)
    total = sum(quiz.items[i].points for i in quiz.item_ids)
    header = ["Surname", "First name", "Email address", "State", "Started on", "Completed",
              "Time taken", f"Grade/{total:.2f}"]  # fmt: skip
    for n in range(1, len(slots) + 1):
        header += ([f"Question {n}"] if question_text else []) + [f"Response {n}"]
    rows = []
    students = students if students is not None else list(quiz.students)
    for i, s in enumerate(students):
        first, _, last = s.name.partition(" ")
        email = s.email.upper() if i == 1 else s.email  # Moodle keeps the user's case
        row = [last, first, email, "Finished", f"20 November 2026  {i + 1}:05 PM",
               f"20 November 2026  {i + 1}:35 PM", "30 mins", "Not yet graded"]  # fmt: skip
        for slot in slots:
            shown = slot[i % len(slot)]
            given = answer(i, shown.variant)
            if isinstance(given, list | tuple):
                texts = {label: text for text, label in shown.options.items()}
                cell = "; ".join(texts[g] for g in given)
            else:
                cell = "-" if given is None else str(given)
            row += ([shown.text] if question_text else []) + [cell]
        rows.append(row)
        if s.student_id in in_progress:
            rows.append(row[:3] + ["In progress", "21 November 2026  9:00 AM", "-", "-", "-"]
                        + ["-"] * (len(header) - 8))  # fmt: skip
    return _csv([header, *rows], bom=True)


def _csv(rows: list[list[str]], *, bom: bool) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return ("\ufeff" if bom else "") + buf.getvalue()
