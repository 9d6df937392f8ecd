"""QTI 2.1 content package: one item file per variant, a test, an IMS CP manifest.

::

    imsmanifest.xml        IMS CP 1.1.4 + IMS MD 1.2 (valid against imscp_v1p1.xsd)
    test.xml               assessmentTest: one section per item; an item with drawn
                           parameters is a section of K variants with <selection select="1"/>
    items/ID.xml           assessmentItem (valid against imsqti_v2p1.xsd), math as MathML
    items/figures/N.png    evidence figures, ``<img src="figures/N.png">`` in the item
                           body and a ``<file>`` of the item's resource in the manifest

QTI 2.1 has no formula question that an LMS fills in, so every item with drawn
parameters is "pick 1 of K" of the variants our roster drew. Each item states its own
scoring in ``responseProcessing``, in points:

* numeric: ``<equal toleranceMode="absolute" tolerance="m m">`` with the variant's exact
  margin ``m = NumericAnswer.margin`` (``max(atol, rtol*|v|)`` and the significant-figure
  term; ``questions.export.rules.equal_tolerance``), both bounds included, then one
  ``responseElseIf`` per misconception (the same tolerance at its value; its credit,
  and its feedback through ``modalFeedback``);
* multiple choice: ``match`` for one answer or all-or-nothing; ``mapResponse`` with
  +P/C per correct option, -P/C per wrong one and ``lowerBound="0"`` for
  right-minus-wrong; per-option ``modalFeedback``; ``shuffle`` with ``fixed`` options;
* essay: ``extendedTextInteraction``, scored by hand; references, rubric and worked
  solution in a ``rubricBlock view="scorer"``, which QTI shows to scorers only.
"""

from __future__ import annotations

import datetime
import functools
import re

from markupsafe import Markup

from questions.exhibits import figure_files
from questions.export.package import render, zip_bytes
from questions.export.plan import Draw, ItemPlan, num, plan_quiz, quiz_ident, short
from questions.export.rules import equal_tolerance
from questions.export.text import exhibit_html, grader_notes
from questions.generate import CompiledItem
from questions.models import EssayItem, MultipleChoiceItem, NumericItem
from questions.render import CompiledText, compile_text
from questions.variants import Quiz

__all__ = ["MAX_VARIANTS", "export", "item_files"]

MAX_VARIANTS = 100
"""At most this many pre-drawn variants per item (the first ones in roster order)."""

_STYLE = re.compile(r' style="text-align:(?:left|right|center)"')  # not in QTI's XHTML


def export(quiz: Quiz, created: datetime.date, *, notes: list[str] | None = None) -> bytes:
    """The quiz as a QTI 2.1 content package (zip); notes go to ``notes``."""
    notes = [] if notes is None else notes
    plans = plan_quiz(quiz, MAX_VARIANTS)
    ident = quiz_ident(quiz, plans)
    files = item_files(plans, notes)
    for name, png in figure_files(d.variant for p in plans for d in p.draws).items():
        files[f"items/figures/{name}"] = png
    sections = [
        {"ident": p.ident, "title": p.spec.title, "items": [d.ident for d in p.draws]}
        for p in plans
    ]
    files["test.xml"] = render("qti21_test.xml.j2", ident=ident, title=quiz.title,
                               sections=sections)  # fmt: skip
    files["imsmanifest.xml"] = render(
        "qti21_manifest.xml.j2",
        ident=ident,
        title=quiz.title,
        created=created.isoformat(),
        items=[{"ident": d.ident, "figure": _figure(d)} for p in plans for d in p.draws],
    )
    return zip_bytes(files, created)


def item_files(plans: list[ItemPlan], notes: list[str]) -> dict[str, bytes]:
    """``items/ID.xml`` for every draw of every item."""
    files = {}
    for plan in plans:
        if plan.drawn > len(plan.draws):
            notes.append(f"{plan.spec.id}: QTI 2.1 keeps {len(plan.draws)} of {plan.drawn} "
                         "variants")  # fmt: skip
        compiled = _compiled_item(plan.spec)
        for draw in plan.draws:
            files[f"items/{draw.ident}.xml"] = render(
                "qti21_item.xml.j2", **_item(plan, compiled, draw)
            )
    return files


def _figure(draw: Draw) -> str | None:
    exhibit = draw.variant.exhibit
    return f"items/figures/{exhibit.figure}" if exhibit and exhibit.figure else None


def _compiled_item(spec) -> CompiledItem:
    return CompiledItem.build(spec)


def _html(text: str) -> Markup:
    return Markup(_STYLE.sub("", text))


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, inline: bool = False) -> CompiledText:
    """Text compiled once per export run, however many variants render it."""
    return compile_text(source, inline=inline)


def _mathml(markdown: str, inline: bool = False) -> Markup:
    """Rendered Markdown (values already in) as QTI XHTML with MathML."""
    return _html(_compiled(markdown, inline).html.render({}))


def _item(plan: ItemPlan, compiled: CompiledItem, draw: Draw) -> dict:
    spec, v = plan.spec, draw.variant
    prompt, option_html = compiled.html(v)
    points = spec.points
    prompt += exhibit_html(v.exhibit, "figures/")
    item = {"ident": draw.ident, "title": spec.title, "prompt": _html(prompt),
            "points": num(points), "kind": spec.kind}  # fmt: skip
    if isinstance(spec, MultipleChoiceItem):
        by_source = dict(zip((o.source_index for o in v.options), option_html, strict=True))
        n_correct = sum(o.correct for o in spec.options)
        options = [
            {
                "ident": f"c{o.source_index}",
                "text": _html(by_source[o.source_index]),
                "feedback": _html(compiled.feedback[o.source_index].html.render(v.display)),
                "correct": o.correct,
                "fixed": spec.options[o.source_index].fixed,
                "mapped": num((points if o.correct else -points) / n_correct),
            }
            for o in draw.options
        ]
        mapping = spec.multiple and spec.partial_credit == "right_minus_wrong"
        return {**item, "options": options, "multiple": spec.multiple,
                "shuffle": spec.shuffle, "mapping": mapping}  # fmt: skip
    if isinstance(spec, NumericItem):
        key = draw.answer
        mistakes = [
            {
                "ident": f"M{i}",
                "value": short(value),
                "tolerance": equal_tolerance(key.at(value), short(value)),
                "score": num(points * m.credit),
                "feedback": _html(_compiled(m.feedback).html.render(v.display)),
            }
            for i, (m, value) in enumerate(draw.mistakes, 1)
        ]
        return {**item, "value": num(key.value), "mistakes": mistakes,
                "tolerance": equal_tolerance(key, num(key.value))}  # fmt: skip
    assert isinstance(spec, EssayItem)
    notes_html = grader_notes(spec, v.explanation, html=_mathml)
    return {**item, "notes": _html(notes_html), "max_words": spec.max_words}
