"""Item text for LMS exports: Markdown with ``$math$`` -> HTML with MathJax delimiters.

Canvas and Moodle both render TeX written as ``\\( ... \\)`` (inline) and ``\\[ ... \\]``
(display) with MathJax, and their HTML sanitisers keep it, whereas they may strip MathML.
So the LMS formats get HTML whose math is TeX between those delimiters (HTML-escaped),
and QTI 2.1, whose schema embeds MathML, gets the MathML of ``questions.render``.

For a question whose numbers the LMS fills in (Moodle ``{name}``, Canvas ``[name]``), the
item's template is rendered with one placeholder per parameter; ``wildcard_html`` puts the
LMS's wildcard where each parameter goes.

>>> to_html("Compute $r A$ for *r* = 1.5.")
'<p>Compute \\\\(r A\\\\) for <em>r</em> = 1.5.</p>\\n'
>>> wildcard_html("$\\\\mathrm{target} = {{ target }}$", {"target": "{target}"},
...               protect_braces=True)
'<p>\\\\(\\\\mathrm{ target} = {target}\\\\)</p>\\n'
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping

from markupsafe import Markup

from questions.export.package import template
from questions.models import EssayItem, Exhibit
from questions.render import (
    MATH,  # the one math pattern of the student views
    environment,
)

__all__ = ["MATH", "exhibit_html", "grader_notes", "to_html", "wildcard_html"]

_SLOT = re.compile(r"zzslot(\d+)zz")
_MOODLE_WILDCARD = re.compile(r"\{(?=[A-Za-z][^>} <{\"']*\})")


@functools.cache
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def to_html(markdown: str, *, inline: bool = False) -> str:
    """Markdown with ``$math$`` as HTML with ``\\( \\)`` / ``\\[ \\]`` TeX (escaped)."""
    slots: list[str] = []

    def math(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        latex = (match.group(1) if display else match.group(2)).strip()
        opening, closing = (r"\[", r"\]") if display else (r"\(", r"\)")
        slots.append(html.escape(f"{opening}{latex}{closing}", quote=False))
        return f"zzslot{len(slots) - 1}zz"

    text = MATH.sub(math, markdown)
    rendered = _markdown().renderInline(text) if inline else _markdown().render(text)
    return _SLOT.sub(lambda m: slots[int(m.group(1))], rendered)


def wildcard_html(
    template: str,
    wildcards: Mapping[str, str],
    *,
    inline: bool = False,
    protect_braces: bool = False,
) -> str:
    """An item template (``{{ name }}`` slots) as HTML with the LMS's wildcard for each
    parameter (``wildcards``: name -> wildcard text). ``protect_braces`` (Moodle) turns
    a literal ``{word}``, such as TeX's ``\\mathrm{target}``, into ``{ word}`` so Moodle
    does not take it for a wildcard; TeX ignores the space."""
    marks = {name: f"zzwild{i}zz" for i, name in enumerate(wildcards)}
    markdown = environment(False).from_string(template).render(marks)
    text = to_html(markdown, inline=inline)
    if protect_braces:
        text = _MOODLE_WILDCARD.sub("{ ", text)
    for name, mark in marks.items():
        text = text.replace(mark, wildcards[name])
    return text


def grader_notes(spec: EssayItem, explanation: str, html=to_html) -> str:
    """HTML for graders only: reference answers, rubric, worked solution.

    ``html(markdown, inline=False)`` turns Markdown into HTML (TeX for the LMSs, MathML
    for QTI 2.1)."""
    rubric = spec.rubric
    return template("grader_notes.html.j2").render(
        references=[Markup(html(r)) for r in spec.references],
        similarity_weight=rubric.similarity_weight,
        stance=rubric.stance,
        concepts=[
            {
                "name": c.name,
                "weight": c.weight,
                "description": Markup(html(c.description, inline=True)),
            }
            for c in rubric.concepts
        ],
        explanation=Markup(html(explanation)) if explanation.strip() else "",
        max_words=spec.max_words,
    )


def exhibit_html(exhibit: Exhibit | None, figure_src: str | None) -> str:
    """The evidence shown under a prompt, as XHTML that every format's text accepts:
        the figure as ``<img src="{figure_src}{name}"/>`` (left out when ``figure_src`` is
        None: a format that cannot carry images), sample texts as a table, the caption.

        >>> from questions.models import SampleGroup
        >>> ex = Exhibit(sweep="s", figure="run-a.png", caption="Run A & co")
    >>> exhibit_html(ex, "@@PLUGINFILE@@/")[:61]
    '<p><img src="@@PLUGINFILE@@/run-a.png" alt="Run A &amp; co"/>'
        >>> exhibit_html(ex, None)
        ''
    """
    if exhibit is None:
        return ""
    caption = html.escape(exhibit.caption)
    parts = []
    if exhibit.figure is not None:
        if figure_src is None:
            return ""
        src = html.escape(figure_src + exhibit.figure)
        parts.append(f'<p><img src="{src}" alt="{caption}"/></p>')
    if exhibit.samples:
        rows = "".join(
            f"<tr><td>{g.step}</td><td>&#8220;{html.escape(t)}&#8221;</td></tr>"
            for g in exhibit.samples
            for t in g.texts
        )
        parts.append("<table><thead><tr><th>step</th><th>sampled text</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")  # fmt: skip
    parts.append(f"<p><em>{caption}</em></p>")
    return "".join(parts)
