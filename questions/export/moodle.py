"""Moodle XML (``<quiz>``): import with Question bank > Import > Moodle XML format.

How each item travels (see ``questions.export.plan`` for what a per-student export is):

* **numeric, drawn parameters** -> a ``calculated`` question: the answer formula (its
  ``ppo_math`` calls inlined, ``questions.export.formula``), a private dataset per
  parameter holding the values our roster drew (as displayed), and our tolerance as two
  full-credit answers, relative ``rtol`` and nominal ``atol``, whose union is
  ``max(atol, rtol*|v|)``. With ``sigfigs`` the nominal one also holds the
  significant-figure margin (one number, so the drawn keys must share a decade where it
  decides), and the key is shown to that many significant figures (Moodle's answer
  format 2, display only). Each misconception is one more answer with its own formula,
  credit and feedback. When the answer has no formula (a comparison, ``x if c else y``)
  or no one tolerance, the item becomes a category of K ``numerical`` questions, one per
  drawn variant, each with its exact margin; add it to a quiz as "a random question from
  the category".
* **multiple choice** -> ``multichoice``, per-option feedback, fractions +100/C and -100/C
  for ``right_minus_wrong`` (Moodle sums the chosen fractions and clamps to [0, 1]).
* **essay** -> ``essay``; reference answers, rubric and worked solution go in
  ``graderinfo`` ("Information for graders"), which students never see.

Worked solutions of other kinds are not exported: Moodle's general feedback is shown to
students. Math is TeX in ``\\( \\)``, rendered by Moodle's MathJax filter.
"""

from __future__ import annotations

import base64
import datetime
import functools

import jinja2.meta

from questions.exhibits import figure_bytes
from questions.export.errors import Unexpressible
from questions.export.formula import to_moodle
from questions.export.package import render
from questions.export.plan import Draw, ItemPlan, num, plan_quiz, quiz_ident, short
from questions.export.rules import formula_tolerances, moodle_grade, option_fraction
from questions.export.text import exhibit_html, grader_notes, to_html, wildcard_html
from questions.expr import Expression
from questions.models import EssayItem, MultipleChoiceItem, NumericItem
from questions.render import environment
from questions.variants import Quiz

__all__ = ["MAX_DATASET_ITEMS", "export"]

MAX_DATASET_ITEMS = 100
"""Moodle keeps at most 100 items in a calculated question's dataset."""


def export(quiz: Quiz, created: datetime.date, *, notes: list[str] | None = None) -> bytes:
    """The quiz as Moodle XML; what could not be kept is appended to ``notes``."""
    notes = [] if notes is None else notes
    plans = plan_quiz(quiz, MAX_DATASET_ITEMS)
    base = "$course$/top/" + quiz.title.replace("/", "//")
    questions: list[dict] = []
    category = None
    for plan in plans:
        spec = plan.spec
        if plan.drawn > len(plan.draws):
            notes.append(f"{spec.id}: Moodle keeps {len(plan.draws)} of {plan.drawn} variants")
        if isinstance(spec, NumericItem) and plan.varying:
            try:
                entries, where = [_calculated(plan, notes)], base
            except Unexpressible as exc:
                notes.append(
                    f"{spec.id}: no Moodle formula ({exc.message}); exported as a category "
                    f"of {len(plan.draws)} numerical questions, add 1 random question from it"
                )
                entries = [_numerical(plan, d, k) for k, d in enumerate(plan.draws, 1)]
                where = f"{base}/{spec.id}"
        elif plan.varying and len(plan.draws) > 1:
            notes.append(
                f"{spec.id}: {spec.kind} with drawn parameters exported as a category of "
                f"{len(plan.draws)} variants, add 1 random question from it"
            )
            where = f"{base}/{spec.id}"
            entries = [_static(plan, d, k, notes) for k, d in enumerate(plan.draws, 1)]
        else:
            where, entries = base, [_static(plan, plan.draws[0], 0, notes)]
        if where != category:
            questions.append({"type": "category", "path": where})
            category = where
        questions.extend(entries)
    return render(
        "moodle.xml.j2",
        ident=quiz_ident(quiz, plans),
        quiz_id=quiz.quiz_id,
        created=created.isoformat(),
        questions=questions,
    )


def _common(plan: ItemPlan, draw: Draw, k: int, text: str) -> dict:
    """Fields of every question; a figure travels inside the question text as a
    base64 ``<file>`` that the text links as ``@@PLUGINFILE@@/name.png``."""
    name = plan.spec.title if k == 0 else f"{plan.spec.title} (variant {k} of {len(plan.draws)})"
    exhibit = draw.variant.exhibit
    files = []
    if exhibit is not None and exhibit.figure is not None:
        files.append({"name": exhibit.figure, "data": _base64(exhibit)})
    return {"name": name, "text": text + exhibit_html(exhibit, "@@PLUGINFILE@@/"),
            "points": plan.spec.points, "idnumber": draw.ident, "files": files}  # fmt: skip


@functools.cache
def _base64(exhibit) -> str:
    return base64.b64encode(figure_bytes(exhibit)).decode("ascii")


def _static(plan: ItemPlan, draw: Draw, k: int, notes: list[str]) -> dict:
    spec, v = plan.spec, draw.variant
    if isinstance(spec, MultipleChoiceItem):
        n_correct = sum(o.correct for o in spec.options)
        shuffle = spec.shuffle and not any(o.fixed for o in spec.options)
        if spec.shuffle and not shuffle and k <= 1:
            notes.append(f"{spec.id}: Moodle cannot pin options; exported unshuffled")
        if spec.multiple and spec.partial_credit == "all_or_nothing" and k <= 1:
            notes.append(
                f"{spec.id}: all-or-nothing multiple answer is not a core Moodle rule; "
                "exported with +100/C per correct option and -100% per wrong one"
            )
        answers = [
            {
                "fraction": option_fraction(o.correct, n_correct, spec.partial_credit),
                "text": to_html(o.text, inline=True),
                "feedback": to_html(o.feedback),
            }
            for o in draw.options
        ]
        return {
            **_common(plan, draw, k, to_html(v.prompt)),
            "type": "multichoice",
            "single": not spec.multiple,
            "shuffle": shuffle,
            "answers": answers,
        }
    if isinstance(spec, EssayItem):
        return {
            **_common(plan, draw, k, to_html(v.prompt)),
            "type": "essay",
            "max_words": spec.max_words,
            "graderinfo": grader_notes(spec, v.explanation),
        }
    assert isinstance(spec, NumericItem)
    return _numerical(plan, draw, k)


def _numerical(plan: ItemPlan, draw: Draw, k: int) -> dict:
    answers = [_numerical_answer("100", draw.answer.value, draw.answer.margin, "Correct.")]
    key = draw.answer
    for m, value in draw.mistakes:
        margin = key.at(value).margin
        answers.append(_numerical_answer(moodle_grade(100 * m.credit)[0], value, margin,
                                         to_html(m.feedback)))  # fmt: skip
    return {
        **_common(plan, draw, k, to_html(draw.variant.prompt)),
        "type": "numerical",
        "answers": answers,
    }


def _numerical_answer(fraction: str, value: float, margin: float, feedback: str) -> dict:
    return {"fraction": fraction, "value": short(value), "tolerance": short(margin),
            "feedback": feedback}  # fmt: skip


def _calculated(plan: ItemPlan, notes: list[str]) -> dict:
    spec = plan.numeric
    assert spec is not None
    first = plan.draws[0]
    shown = _shown(spec)
    answers = [
        _formula_answer("100", to_moodle(spec.answer.expr), t, kind, shown, "")
        for kind, t in formula_tolerances([d.answer for d in plan.draws])
    ]
    formulas = [spec.answer.expr]
    for m in spec.misconceptions:
        at_values = [d.answer.at(v) for d in plan.draws for k, v in d.mistakes if k.name == m.name]
        try:
            formula = to_moodle(m.expr)
            tolerances = formula_tolerances(at_values or [first.answer])
        except Unexpressible as exc:
            notes.append(f"{spec.id}: misconception {m.name!r} left out ({exc.message})")
            continue
        grade, exact = moodle_grade(100 * m.credit)
        if not exact:
            notes.append(f"{spec.id}: misconception {m.name!r} credit rounded to {grade}%")
        feedback = to_html(m.feedback)
        formulas.append(m.expr)
        answers += [
            _formula_answer(grade, formula, t, kind, shown, feedback)
            for kind, t in tolerances
        ]
    used = _names(spec.prompt) | set().union(*(_expr_names(f) for f in formulas))
    names = [n for n in plan.param_names if n in used]
    datasets = [
        {
            "name": n,
            "minimum": num(min(d.variant.params[n] for d in plan.draws)),
            "maximum": num(max(d.variant.params[n] for d in plan.draws)),
            "decimals": plan.decimals(n),
            "items": [d.variant.display[n] for d in plan.draws],
        }
        for n in names
    ]
    text = wildcard_html(
        spec.prompt, {n: "{" + n + "}" for n in plan.param_names}, protect_braces=True
    )
    return {
        **_common(plan, first, 0, text),
        "type": "calculated",
        "answers": answers,
        "datasets": datasets,
    }


def _shown(spec: NumericItem) -> tuple[int, int]:
    """Moodle's ``(correctanswerformat, correctanswerlength)`` for the key: decimals (1)
    or significant figures (2), as ``NumericAnswer.display`` shows it."""
    a = spec.answer
    return (1, a.decimals) if a.sigfigs is None else (2, a.sigfigs)


def _formula_answer(fraction, formula, tolerance, kind, shown, feedback) -> dict:
    return {"fraction": fraction, "formula": formula, "tolerance": tolerance,
            "tolerancetype": {"relative": 1, "nominal": 2}[kind], "format": shown[0],
            "decimals": shown[1], "feedback": feedback}  # fmt: skip


def _names(source: str) -> set[str]:
    return set(jinja2.meta.find_undeclared_variables(environment(False).parse(source)))


def _expr_names(source: str) -> set[str]:
    return set(Expression.parse(source).names)
