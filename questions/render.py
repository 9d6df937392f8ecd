"""Rendering with jinja2 (``StrictUndefined``): item text for Markdown and for HTML.

An item's text is Markdown with ``$LaTeX$`` math and ``{{ name }}`` parameters. For HTML
it is compiled *once per item* into an HTML jinja template: Markdown becomes HTML and
math becomes MathML (latex2mathml: rendered by the browser, offline, no CDN), with the
parameters left as template slots. Rendering a student's copy is then a plain template
substitution, which keeps a 1,000-student quiz fast. Templates format; they never compute.

>>> t = compile_text("Ratio $r = {{ ratio }}$ and *advantage* {{ advantage }}.")
>>> t.markdown.render({"ratio": "1.50", "advantage": "2.00"})
'Ratio $r = 1.50$ and *advantage* 2.00.'
>>> "<mn>1.50</mn>" in t.html.render({"ratio": "1.50", "advantage": "2.00"})
True
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe

from questions.errors import BankError

__all__ = [
    "MATH",
    "CompiledText",
    "Slots",
    "compile_text",
    "environment",
    "format_points",
    "page_template",
    "to_plain_text",
]

TEMPLATES = Path(__file__).parent / "templates"
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?=\S)(.+?)(?<=\S)\$(?!\$)", re.DOTALL)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NEWLINES = re.compile(r"\r\n?")
_SENTINEL = 987650001  # a number latex2mathml keeps verbatim inside <mn>


@functools.cache
def environment(autoescape: bool, folder: Path = TEMPLATES) -> jinja2.Environment:
    """The jinja2 environment of a template folder: strict undefined, autoescape for
    HTML/XML. Every template of the project (student views, exports) comes from here."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points"] = format_points
    return env


def format_points(points: float) -> str:
    """``2.0`` -> ``'2'``, ``1.5`` -> ``'1.5'``.

    >>> format_points(2.0), format_points(1.5)
    ('2', '1.5')
    """
    return f"{points:g}"


def page_template(name: str) -> jinja2.Template:
    """A page template from ``questions/templates`` (autoescaped when it is HTML/XML)."""
    return environment(name.endswith((".html.j2", ".xml.j2"))).get_template(name)


@functools.cache
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


class Slots:
    """A compiled jinja template with a fast path.

    Item text almost always uses nothing but ``{{ name }}``; such text is split once into
    literal parts and names, and rendering is a join (what dominates a 1,000-student quiz
    otherwise is jinja's per-render context set-up). Anything else (``{% if %}``,
    filters) goes through jinja. Both paths give the same output (a property test checks)
    and both refuse an undefined name, as ``StrictUndefined`` does.
    """

    __slots__ = ("escape", "parts", "template")

    def __init__(self, source: str, autoescape: bool):
        self.template = environment(autoescape).from_string(source)  # syntax check always
        self.escape = autoescape
        pieces = _SIMPLE.split(_NEWLINES.sub("\n", source))  # as jinja's lexer does
        simple = "{{" not in "".join(pieces[0::2]) and "{%" not in source and "{#" not in source
        self.parts: list[str] | None = pieces if simple else None

    def render(self, values: Mapping[str, str]) -> str:
        if self.parts is None:
            return self.template.render(values)
        out = []
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                out.append(part)
                continue
            try:
                value = str(values[part])
            except KeyError:
                raise jinja2.UndefinedError(f"'{part}' is undefined") from None
            out.append(markupsafe.escape(value) if self.escape else value)
        return "".join(out)


@dataclass(frozen=True)
class CompiledText:
    """One piece of item text compiled for Markdown and for HTML output."""

    source: str
    markdown: Slots
    html: Slots


def compile_text(source: str, *, inline: bool = False) -> CompiledText:
    """Compile item text once; ``inline`` for an option (no ``<p>`` wrapper)."""
    try:
        md = Slots(source, autoescape=False)
        html = Slots(_html_source(source, inline), autoescape=True)
    except jinja2.TemplateSyntaxError as exc:
        raise BankError(f"template error: {exc.message} in {source[:60]!r}") from None
    return CompiledText(source=source, markdown=md, html=html)


def _html_source(source: str, inline: bool) -> str:
    """Markdown+math+jinja -> an HTML jinja template (math as MathML)."""
    import latex2mathml.converter

    slots: list[str] = []

    def protect(text: str) -> str:
        slots.append(text)
        return f"zzslot{len(slots) - 1}zz"

    def math(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        latex = match.group(1) if display else match.group(2)
        exprs: list[str] = []

        def sentinel(m: re.Match[str]) -> str:
            exprs.append(m.group(0))
            return "{" + str(_SENTINEL + len(exprs) - 1) + "}"

        latex = _JINJA.sub(sentinel, latex)
        try:
            mathml = latex2mathml.converter.convert(latex, display="block" if display else "inline")
        except Exception as exc:  # latex2mathml raises many types for bad LaTeX
            raise BankError(f"cannot convert math ${latex}$: {exc}") from None
        for i, expr in enumerate(exprs):
            mathml = mathml.replace(str(_SENTINEL + i), expr)
        return protect(mathml)

    text = MATH.sub(math, source)
    text = _JINJA.sub(lambda m: protect(m.group(0)), text)
    rendered = _markdown().renderInline(text) if inline else _markdown().render(text)
    return re.sub(r"zzslot(\d+)zz", lambda m: slots[int(m.group(1))], rendered)


def to_plain_text(markdown: str) -> str:
    """Markdown with $math$ as readable terminal text (math kept as typed).

    >>> to_plain_text("Compute $\\\\min(r A, 1.2 A)$ for **r = 1.5**.")
    'Compute min(r A, 1.2 A) for r = 1.5.'
    """
    text = MATH.sub(lambda m: _latex_plain(m.group(1) or m.group(2)), markdown)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*", r"\1", text)


_LATEX_WORDS = {
    r"\epsilon": "ε", r"\varepsilon": "ε", r"\beta": "β", r"\pi": "π", r"\theta": "θ",
    r"\lambda": "λ", r"\gamma": "γ", r"\alpha": "α", r"\delta": "δ", r"\Delta": "Δ",
    r"\mu": "μ", r"\sigma": "σ", r"\tau": "τ", r"\eta": "η", r"\phi": "φ", r"\rho": "ρ",
    r"\cdot": "·", r"\times": "×", r"\pm": "±", r"\leq": "≤", r"\geq": "≥", r"\le": "≤",
    r"\ge": "≥", r"\leqslant": "≤", r"\geqslant": "≥", r"\neq": "≠", r"\ne": "≠",
    r"\lt": "<", r"\gt": ">", r"\approx": "≈", r"\sim": "~", r"\propto": "∝",
    r"\infty": "∞", r"\in": "∈", r"\to": "→", r"\rightarrow": "→", r"\Rightarrow": "⇒",
    r"\leftarrow": "←", r"\sum": "Σ", r"\prod": "Π", r"\nabla": "∇", r"\partial": "∂",
    r"\ldots": "…", r"\cdots": "⋯", r"\dots": "…", r"\mid": "|", r"\quad": " ",
    r"\qquad": " ", r"\min": "min", r"\max": "max", r"\log": "log", r"\exp": "exp",
    r"\mathbb": "", r"\mathcal": "", r"\lvert": "|", r"\rvert": "|",
}  # fmt: skip
"""LaTeX commands and their plain-text forms. A command matches only as a whole word
(``\\ne`` never eats the start of ``\\neq``); anything not listed loses its backslash."""


def _latex_plain(latex: str) -> str:
    text = re.sub(r"\\(?:operatorname\*?|mathrm|text|mathbf|textbf|mathit)\{([^{}]*)\}", r"\1",
                  latex)  # fmt: skip
    text = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", text)
    text = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", text)
    text = re.sub(r"\\(?:hat|widehat)\{([^{}]*)\}", "\\1\u0302", text)
    text = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", text)
    text = re.sub(r"\\[,;: ]", " ", text).replace("\\!", "")
    text = _COMMAND.sub(lambda m: _LATEX_WORDS.get(m.group(0), m.group(0)[1:]), text)
    text = text.replace(r"\{", "\0").replace(r"\}", "\1").replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", text.replace("\0", "{").replace("\1", "}").strip())


_COMMAND = re.compile(r"\\[A-Za-z]+")  # the longest run of letters: a whole command
