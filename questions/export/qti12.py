"""QTI 1.2 as a Canvas import package (Settings > Import course content > QTI .zip file).

The zip holds what Canvas's own quiz export holds (and text2qti copies)::

    imsmanifest.xml                  IMS CP manifest in Canvas's flavour (no schema fits)
    ID/ID.xml                        the assessment: QTI 1.2 ASI, valid against the XSD
    ID/assessment_meta.xml           Canvas quiz settings (cccv1p0 namespace)
    web_resources/figures/NAME.png   evidence figures, linked from the question text as
                                     ``$IMS-CC-FILEBASE$/figures/NAME.png`` (Canvas puts
                                     them in the course files) and listed in the manifest

How each item travels:

* **numeric, drawn parameters** -> ``calculated_question``: the formula (``ppo_math``
  inlined, Canvas names without underscores), one variable set per variant our roster
  drew *with its answer* (Canvas grades with the stored answer, not the formula), and one
  ``answer_tolerance``. Canvas has a single tolerance per question, absolute (``0.005``)
  or relative (``1%``), so our margin (``max(atol, rtol*|v|)``, and with ``sigfigs`` half
  a unit in the key's last significant digit) is exact only when it is ``rtol*|v|`` on
  every drawn variant or one number on all of them (significant figures: keys in one
  decade); otherwise, or when the answer has no formula, the item is a question group
  "pick 1 of K" of ``numerical_question`` s, each with its exact range.
* **multiple choice** -> ``multiple_choice_question`` / ``multiple_answers_question``
  with per-option feedback. Canvas scores multiple answers as right minus wrong (each
  correct +1/C, each wrong -1/C, at least 0): our ``right_minus_wrong`` exactly.
* **essay** -> ``essay_question``. Canvas Classic Quizzes have no field that graders see
  and students do not (question comments are shown to students), so reference answers
  and rubric stay in the quiz folder; alignquiz grades the essays from the response export.

Lost in Canvas: misconception feedback and partial credit on numbers (every Canvas
numeric answer is full credit), worked solutions (no private field), pinned options
(Canvas shuffles per quiz, not per option).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from questions.exhibits import figure_files
from questions.export.errors import Unexpressible
from questions.export.formula import to_canvas
from questions.export.package import render, zip_bytes
from questions.export.plan import Draw, ItemPlan, num, plan_quiz, quiz_ident, short
from questions.export.rules import percent
from questions.export.text import exhibit_html, to_html, wildcard_html
from questions.models import EssayItem, MultipleChoiceItem, NumericItem
from questions.params import digest
from questions.variants import Quiz

__all__ = ["FIGURES", "MAX_VAR_SETS", "assessment_xml", "canvas_tolerance", "export"]

FIGURES = "web_resources/figures"
"""Where figures go in the package (Canvas's ``$IMS-CC-FILEBASE$`` is ``web_resources``)."""

MAX_VAR_SETS = 200
"""Canvas keeps at most 200 variable sets in a formula question."""


def export(quiz: Quiz, created: datetime.date, *, notes: list[str] | None = None) -> bytes:
    """The quiz as a Canvas QTI 1.2 zip; what could not be kept is appended to ``notes``."""
    notes = [] if notes is None else notes
    plans = plan_quiz(quiz, MAX_VAR_SETS)
    ident = quiz_ident(quiz, plans)
    assessment = assessment_xml(quiz, plans, ident, notes)
    total = sum(p.spec.points for p in plans)
    shuffle = any(
        isinstance(p.spec, MultipleChoiceItem) and p.spec.shuffle for p in plans
    )  # Canvas shuffles answers per quiz
    meta = render("canvas_meta.xml.j2", ident=ident, title=quiz.title,
                  points=total, shuffle=shuffle)  # fmt: skip
    figures = {f"{FIGURES}/{name}": png for name, png in
               figure_files(d.variant for p in plans for d in p.draws).items()}  # fmt: skip
    manifest = render(
        "qti12_manifest.xml.j2", ident=ident, title=quiz.title, created=created.isoformat(),
        figures=[{"ident": "f" + digest(path.encode(), size=8), "href": path}
                 for path in sorted(figures)],
    )  # fmt: skip
    files = {
        "imsmanifest.xml": manifest,
        f"{ident}/{ident}.xml": assessment,
        f"{ident}/assessment_meta.xml": meta,
        **figures,
    }
    return zip_bytes(files, created)


def assessment_xml(quiz: Quiz, plans: list[ItemPlan], ident: str, notes: list[str]) -> bytes:
    """The QTI 1.2 assessment document (validated against the ASI XSD in the tests)."""
    entries = []
    for plan in plans:
        spec = plan.spec
        if plan.drawn > len(plan.draws):
            notes.append(f"{spec.id}: Canvas keeps {len(plan.draws)} of {plan.drawn} variants")
        if isinstance(spec, EssayItem):
            notes.append(f"{spec.id}: Canvas has no graders-only field; references and "
                         "rubric stay in the quiz folder")  # fmt: skip
        if isinstance(spec, NumericItem) and spec.misconceptions:
            notes.append(f"{spec.id}: Canvas numeric answers are all full credit; "
                         "misconception feedback is not exported")  # fmt: skip
        if isinstance(spec, MultipleChoiceItem) and spec.multiple:
            if spec.partial_credit == "all_or_nothing":
                notes.append(f"{spec.id}: Canvas always gives partial credit (right minus "
                             "wrong) on multiple answers; all-or-nothing is not kept")  # fmt: skip
        if isinstance(spec, MultipleChoiceItem) and any(o.fixed for o in spec.options):
            notes.append(f"{spec.id}: Canvas cannot pin options; they shuffle with the quiz")
        if isinstance(spec, NumericItem) and plan.varying:
            try:
                entries.append({"group": None, "items": [_calculated(plan)]})
                continue
            except Unexpressible as exc:
                notes.append(f"{spec.id}: no Canvas formula question ({exc.message}); "
                             f"exported as a group, pick 1 of {len(plan.draws)}")  # fmt: skip
        first = 1 if len(plan.draws) > 1 else 0
        items = [_item(plan, d, k) for k, d in enumerate(plan.draws, first)]
        group = None
        if len(items) > 1:
            group = {"ident": plan.ident, "title": spec.title, "points": spec.points}
            if not isinstance(spec, NumericItem):
                notes.append(f"{spec.id}: drawn parameters; exported as a group, "
                             f"pick 1 of {len(items)}")  # fmt: skip
        entries.append({"group": group, "items": items})
    return render("qti12_assessment.xml.j2", ident=ident, title=quiz.title, entries=entries)


def _base(plan: ItemPlan, draw: Draw, k: int, kind: str, text: str) -> dict:
    title = plan.spec.title if k == 0 else f"{plan.spec.title} ({k} of {len(plan.draws)})"
    text += exhibit_html(draw.variant.exhibit, "$IMS-CC-FILEBASE$/figures/")
    return {"ident": draw.ident, "title": title, "type": kind, "points": plan.spec.points,
            "text": text}  # fmt: skip


def _item(plan: ItemPlan, draw: Draw, k: int) -> dict:
    spec, v = plan.spec, draw.variant
    if isinstance(spec, MultipleChoiceItem):
        kind = "multiple_answers_question" if spec.multiple else "multiple_choice_question"
        options = [
            {"ident": f"{draw.ident}{o.source_index}", "text": to_html(o.text, inline=True),
             "feedback": to_html(o.feedback), "correct": o.correct}
            for o in draw.options
        ]  # fmt: skip
        return {**_base(plan, draw, k, kind, to_html(v.prompt)), "options": options}
    if isinstance(spec, EssayItem):
        return _base(plan, draw, k, "essay_question", to_html(v.prompt))
    key = draw.answer
    return {
        **_base(plan, draw, k, "numerical_question", to_html(v.prompt)),
        "exact": num(key.value),
        "low": short(key.value - key.margin),
        "high": short(key.value + key.margin),
    }


def canvas_tolerance(plan: ItemPlan) -> str:
    """Canvas's one ``answer_tolerance`` for the drawn variants: ``rtol`` as a percentage
    when ``rtol*|v|`` is the margin on every variant, else the margin itself (absolute)
    when it is the same number on every variant (``atol``, or a significant-figure
    margin of keys in one decade).

    Raises ``Unexpressible`` when neither holds.
    """
    answers = [d.answer for d in plan.draws]
    rtol, atol = answers[0].rtol, answers[0].atol
    if rtol > 0 and all(a.margin == a.rtol * abs(a.value) for a in answers):
        return percent(100 * rtol) + "%"
    margins = sorted({a.margin for a in answers})
    if len(margins) == 1:
        return _positional(margins[0])
    if answers[0].sigfigs is not None:
        raise Unexpressible(
            f"the margin changes from variant to variant ({num(margins[0])} to "
            f"{num(margins[-1])}: {answers[0].sigfigs} significant figures of keys in "
            "several decades), and Canvas allows one tolerance"
        )
    raise Unexpressible(
        f"the tolerance is relative ({num(rtol)}) on some variants and absolute "
        f"({num(atol)}) on others, and Canvas allows one"
    )


def _positional(x: float) -> str:
    """A tolerance as Canvas's form shows one: ``5e-05`` -> ``0.00005``."""
    text = num(x)
    return f"{Decimal(text):f}" if "e" in text else text


def _decimal_places(plan: ItemPlan) -> int:
    """Decimals Canvas shows a key with: the item's ``decimals``, or with ``sigfigs``
    enough for that many significant figures of the smallest drawn key (at most 10)."""
    answer = plan.draws[0].answer
    if answer.sigfigs is None:
        return answer.decimals
    places = (-int(Decimal(d.answer.display()).as_tuple().exponent) for d in plan.draws)
    return min(10, max(0, *places))


def _calculated(plan: ItemPlan) -> dict:
    spec = plan.numeric
    assert spec is not None
    names = {n: n.replace("_", "") for n in plan.param_names}
    if len(set(names.values())) != len(names):
        raise Unexpressible("parameter names clash once underscores are removed")
    formula = to_canvas(spec.answer.expr, names)
    tolerance = canvas_tolerance(plan)
    first = plan.draws[0]
    text = wildcard_html(spec.prompt, {n: f"[{c}]" for n, c in names.items()})
    plain = to_html(first.variant.prompt)
    for c in names.values():  # a literal [name] in the text would be substituted too
        if f"[{c}]" in plain:
            raise Unexpressible(f"the text contains [{c}] literally")
    variables = [
        {"name": c, "scale": plan.decimals(n),
         "min": num(min(d.variant.params[n] for d in plan.draws)),
         "max": num(max(d.variant.params[n] for d in plan.draws))}
        for n, c in names.items()
    ]  # fmt: skip
    var_sets = [
        {"ident": d.ident, "answer": num(d.answer.value),
         "values": [(c, d.variant.display[n]) for n, c in names.items()]}
        for d in plan.draws
    ]  # fmt: skip
    return {
        **_base(plan, first, 0, "calculated_question", text),
        "formula": formula,
        "decimals": _decimal_places(plan),
        "tolerance": tolerance,
        "variables": variables,
        "var_sets": var_sets,
    }
