"""The quiz folder: what ``quiz generate`` writes and every later command reads.

::

    DIR/
      quiz.json               the student view of every paper (no key)
      students/ID.md          one student's paper, Markdown with $math$
      students/ID.html        the same, self-contained HTML (MathML, figures as data: URIs)
      students/figures/*.png  the evidence figures the Markdown papers link (one copy each)
      private/                never handed to students
        quiz.json             the whole quiz: variants with keys, item specs, seed
        key.json              {student_id: {item_id: {"params", "answer"}}}
        roster.csv            the roster as read (with emails)
        tokens.csv            student_id,token: each student's access token (secret)

The folder is written into a temporary sibling and renamed at the end, so a failure
leaves nothing half-written and an existing quiz is replaced only with ``force``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pydantic import TypeAdapter, ValidationError

from questions.errors import QuizError
from questions.exhibits import data_uri, figure_files
from questions.generate import CompiledItem, paused_gc
from questions.render import page_template
from questions.tokens import course_secret, student_token
from questions.variants import Quiz

__all__ = ["STUDENT_VIEW", "FULL_QUIZ", "KEY", "key_table", "read_quiz", "write_quiz"]

STUDENT_VIEW = "quiz.json"
FULL_QUIZ = "private/quiz.json"
KEY = "private/key.json"
_KEY_JSON = TypeAdapter(dict[str, dict[str, dict[str, Any]]])


def key_table(quiz: Quiz) -> dict[str, dict[str, dict[str, object]]]:
    """``{student_id: {item_id: {"params": {...}, "answer": ...}}}``: numbers for numeric
    items, the correct option texts for multiple choice, ``None`` for essays (their
    references and rubric are in the item spec, the same for every student)."""
    table: dict[str, dict[str, dict[str, object]]] = {}
    for student in quiz.students:
        row: dict[str, dict[str, object]] = {}
        for v in quiz.variants[student.student_id]:
            row[v.item_id] = {"params": dict(v.params), "answer": v.key()}
        table[student.student_id] = row
    return table


def write_quiz(
    quiz: Quiz,
    compiled: dict[str, CompiledItem],
    out: str | Path,
    force: bool = False,
    progress=None,
) -> Path:
    """Write every artefact of ``quiz`` into ``out`` (atomically); return ``out``."""
    out = Path(out)
    if out.exists() and not force:
        if not out.is_dir() or any(out.iterdir()):
            raise QuizError("already exists; pass --force to replace it", path=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with paused_gc():
            _write_all(quiz, compiled, tmp, progress)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_all(quiz: Quiz, compiled: dict[str, CompiledItem], root: Path, progress) -> None:
    (root / "students").mkdir()
    (root / "private").mkdir()
    os.chmod(root / "private", 0o700)
    view = quiz.student_view()
    md_page, html_page = page_template("student.md.j2"), page_template("student.html.j2")
    pngs = figure_files(v for vs in quiz.variants.values() for v in vs)
    if pngs:
        (root / "students" / "figures").mkdir()
    for name, png in pngs.items():
        (root / "students" / "figures" / name).write_bytes(png)
    # encoded once per quiz, and marked safe so no page re-scans the string to escape it
    figures = {name: Markup(data_uri(png)) for name, png in pngs.items()}
    # what is the same on every paper (item heads, exhibits, footers) is rendered once
    parts, md_parts = (page_template(f"student_item.{x}.j2").module for x in ("html", "md"))
    md_static = [
        {"head": str(md_parts.head(item, n)), "exhibit": str(md_parts.exhibit(item)),
         "foot": str(md_parts.foot(item))}
        for n, item in enumerate(view.papers[0].items if view.papers else (), 1)
    ]  # fmt: skip
    static = [
        {"head": _trim(parts.head(item, n)), "exhibit": _trim(parts.exhibit(item, figures)),
         "foot": _trim(parts.foot(item))}
        for n, item in enumerate(view.papers[0].items if view.papers else (), 1)
    ]  # fmt: skip
    for paper, student in zip(view.papers, quiz.students, strict=True):
        total = f"{sum(i.points for i in paper.items):g}"
        (root / "students" / f"{paper.student_id}.md").write_text(
            md_page.render(
                quiz=view,
                paper=paper,
                total_points=total,
                items=list(zip(paper.items, md_static, strict=True)),
            ),
            encoding="utf-8",
        )
        htmls = []
        for variant, same in zip(quiz.variants[student.student_id], static, strict=True):
            prompt, options = compiled[variant.item_id].html(variant)
            htmls.append({"prompt": prompt, "options": options, **same})
        (root / "students" / f"{paper.student_id}.html").write_text(
            html_page.render(
                quiz=view, paper=paper, items=list(zip(paper.items, htmls, strict=True)),
                total_points=total,
            ),
            encoding="utf-8",
        )  # fmt: skip
        if progress is not None:
            progress(1)
    # compact JSON: these are machine files, and a 1,000-student quiz is tens of MB
    (root / STUDENT_VIEW).write_bytes(view.model_dump_json().encode() + b"\n")
    (root / FULL_QUIZ).write_bytes(quiz.model_dump_json().encode() + b"\n")
    (root / KEY).write_bytes(_KEY_JSON.dump_json(key_table(quiz)) + b"\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student_id", "name", "email"])
    writer.writerows([s.student_id, s.name, s.email] for s in quiz.students)
    (root / "private" / "roster.csv").write_text(buf.getvalue(), encoding="utf-8")
    secret = course_secret()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student_id", "token"])
    writer.writerows([s.student_id, student_token(secret, quiz.quiz_id, s.student_id)]
                     for s in quiz.students)  # fmt: skip
    tokens = root / "private" / "tokens.csv"
    tokens.write_text(buf.getvalue(), encoding="utf-8")
    os.chmod(tokens, 0o600)


def _trim(html: str) -> Markup:
    return Markup(html.strip("\n"))  # a macro's output: already escaped


def read_quiz(folder: str | Path) -> Quiz:
    """The whole quiz (with keys) from a quiz folder."""
    folder = Path(folder)
    path = folder / FULL_QUIZ
    if not folder.is_dir():
        raise QuizError("no such quiz folder", path=str(folder))
    if not path.is_file():
        raise QuizError("not a quiz folder (no private/quiz.json)", path=str(folder))
    try:
        return Quiz.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise QuizError(f"invalid quiz file: {loc}: {err['msg']}", path=str(path)) from None
