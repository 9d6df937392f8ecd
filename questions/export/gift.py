"""GIFT, Moodle's plain-text question format (Question bank > Import > GIFT format).

GIFT has no randomised question type, so an item with drawn parameters becomes a
category (``$CATEGORY:``) of K questions, one per variant our roster drew, each with its
exact margin ``NumericAnswer.margin`` (``max(atol, rtol*|v|)``, and the significant-figure
term) as a GIFT tolerance (``{#value:margin}``, Moodle's *nominal* tolerance); add "1
random question" from the category to the quiz. Items
without parameters are single questions in the quiz's category.

Kept: sample texts shown as evidence (as an HTML table). Lost: figures, since GIFT
cannot carry images (a note names each one; Moodle XML carries them). Kept: per-option
feedback, right-minus-wrong fractions (``~%33.33333%``), misconceptions
as extra numeric answers with their credit and feedback. Lost: what GIFT has no field
for: points (each question's mark is set in the Moodle quiz) and graders' notes, so an
essay's references, rubric and worked solution stay in the quiz folder (GIFT's general
feedback is shown to students).

Text is HTML (``[html]``) with TeX in ``\\( \\)``; GIFT's specials ``~ = # { } :`` and the
backslash are escaped as Moodle's own GIFT writer escapes them.

>>> escape("a = b {c} \\\\ne d:e")
'a \\\\= b \\\\{c\\\\} \\\\\\\\ne d\\\\:e'
"""

from __future__ import annotations

import datetime

from questions.export.package import render
from questions.export.plan import Draw, ItemPlan, num, plan_quiz, quiz_ident, short
from questions.export.rules import moodle_grade, option_fraction
from questions.export.text import exhibit_html, to_html
from questions.models import MultipleChoiceItem, NumericItem
from questions.variants import Quiz

__all__ = ["MAX_VARIANTS", "escape", "export"]

MAX_VARIANTS = 100
"""At most this many pre-drawn variants per item (the first ones in roster order)."""

_SPECIAL = str.maketrans({c: "\\" + c for c in "~=#{}:"} | {"\n": "\\n", "\r": ""})


def escape(text: str) -> str:
    """Text with GIFT's special characters escaped (backslash first)."""
    return text.replace("\\", "\\\\").translate(_SPECIAL)


def export(quiz: Quiz, created: datetime.date, *, notes: list[str] | None = None) -> bytes:
    """The quiz as GIFT text; what could not be kept is appended to ``notes``."""
    notes = [] if notes is None else notes
    plans = plan_quiz(quiz, MAX_VARIANTS)
    base = "$course$/top/" + quiz.title.replace("/", "//")
    blocks: list[dict] = []
    for plan in plans:
        spec = plan.spec
        if plan.drawn > len(plan.draws):
            notes.append(f"{spec.id}: GIFT keeps {len(plan.draws)} of {plan.drawn} variants")
        if spec.points != 1:
            notes.append(f"{spec.id}: GIFT has no points; set its mark ({spec.points:g}) in "
                         "the Moodle quiz")  # fmt: skip
        if spec.kind == "essay":
            notes.append(f"{spec.id}: GIFT has no graders' notes; references and rubric "
                         "are not exported")  # fmt: skip
        if len(plan.draws) > 1:
            notes.append(
                f"{spec.id}: GIFT has no randomised type; exported as a category of "
                f"{len(plan.draws)} variants, add 1 random question from it"
            )
            category = f"{base}/{spec.id}"
            questions = [_question(plan, d, k, notes) for k, d in enumerate(plan.draws, 1)]
        else:
            category, questions = base, [_question(plan, plan.draws[0], 0, notes)]
        if blocks and blocks[-1]["category"] == escape(category):
            blocks[-1]["questions"].extend(questions)
        else:
            blocks.append({"category": escape(category), "questions": questions})
    return render(
        "gift.txt.j2",
        ident=quiz_ident(quiz, plans),
        quiz_id=quiz.quiz_id,
        created=created.isoformat(),
        blocks=blocks,
    )


def _question(plan: ItemPlan, draw: Draw, k: int, notes: list[str]) -> dict:
    spec, v = plan.spec, draw.variant
    name = spec.title if k == 0 else f"{spec.title} (variant {k} of {len(plan.draws)})"
    answers: list[str] = []
    if isinstance(spec, MultipleChoiceItem):
        n_correct = sum(o.correct for o in spec.options)
        if spec.multiple and n_correct == 1 and k <= 1:
            notes.append(f"{spec.id}: one correct option, so Moodle shows it as single answer")
        if any(o.fixed for o in spec.options) and k <= 1:
            notes.append(f"{spec.id}: GIFT cannot pin options; Moodle's quiz shuffles them")
        for o in draw.options:
            fraction = option_fraction(o.correct, n_correct, spec.partial_credit)
            mark = "=" if not spec.multiple and o.correct else "~"
            weight = f"%{fraction}%" if spec.multiple else ""
            answers.append(f"{mark}{weight}{_html(o.text, inline=True)}#{_html(o.feedback)}")
        body = "multichoice"
    elif isinstance(spec, NumericItem):
        key = draw.answer
        answers.append(f"=%100%{num(key.value)}:{short(key.margin)}#Correct.")
        for m, value in draw.mistakes:
            grade, exact = moodle_grade(100 * m.credit)
            if not exact and k <= 1:
                notes.append(f"{spec.id}: misconception {m.name!r} credit rounded to {grade}%")
            margin = key.at(value).margin
            answers.append(f"=%{grade}%{short(value)}:{short(margin)}#{_html(m.feedback)}")
        body = "numerical"
    else:
        body = "essay"
    text = _html(v.prompt)
    if v.exhibit is not None:
        if v.exhibit.figure is not None and k <= 1:
            notes.append(f"{spec.id}: GIFT cannot carry images; figure {v.exhibit.figure} "
                         "is not exported (add it to the question in Moodle by hand, or "
                         "export Moodle XML, which carries it)")  # fmt: skip
        text += escape(exhibit_html(v.exhibit, None))
    return {"name": escape(name), "text": text, "kind": body, "answers": answers}


def _html(markdown: str, inline: bool = False) -> str:
    return escape(to_html(markdown, inline=inline).strip())
