"""Raw answers to parsed values, or a format error that costs no attempt.

PrairieLearn's rule: ``parse`` never scores. A malformed answer becomes a
:class:`FormatError` (a value, not an exception) that blocks grading, so the student
fixes the typing and keeps the attempt.

Numbers are read as students type them::

    1.2   -0.3   +.5   1.2e-1   1.2 × 10^-1   6/5   12%   −0.3   １．２   = 1.2   r*A = 2.4

A number is kept as the :class:`~decimal.Decimal` the student typed, so ``text`` keeps
its digits (``1.20`` has three significant figures) and parsing ``text`` again gives the
same result (idempotence, checked by hypothesis).

>>> parse_number("r*A = 2.4")
ParsedNumber(value=2.4, text='2.4', sigfigs=2)
>>> parse_number("6/5").value
1.2
>>> parse_number("12%", allow_percent=True).text
'0.12'
>>> parse_number("nan")
FormatError(message='NaN and infinity are not numbers we can grade: enter a finite number')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from fractions import Fraction
from typing import Protocol

__all__ = [
    "FormatError",
    "Labelled",
    "ParseResult",
    "ParsedChoice",
    "ParsedNumber",
    "ParsedText",
    "parse_choice",
    "parse_number",
    "parse_text",
]

MAX_NUMBER_CHARS = 200
"""Longer numeric answers are format errors (nobody types 200 characters for a number)."""


@dataclass(frozen=True)
class FormatError:
    """The answer could not be read; it blocks grading and costs no attempt."""

    message: str
    ok = False


@dataclass(frozen=True)
class ParsedNumber:
    """A finite number; ``text`` is its canonical form (parsing it gives this again)."""

    value: float
    text: str
    sigfigs: int
    """Significant figures as typed (``1.20`` -> 3; ``1200`` -> 4)."""
    ok = True


@dataclass(frozen=True)
class ParsedChoice:
    """The chosen option labels, in display order; ``text`` is ``"A, C"``."""

    labels: tuple[str, ...]
    ok = True

    @property
    def text(self) -> str:
        return ", ".join(self.labels)


@dataclass(frozen=True)
class ParsedText:
    """A free-text answer, whitespace-normalised."""

    text: str
    ok = True


ParseResult = ParsedNumber | ParsedChoice | ParsedText | FormatError


class Labelled(Protocol):
    """An option as shown to the student (``VariantOption`` and ``StudentOption``)."""

    label: str
    text: str


# --------------------------------------------------------------------------- numbers
_DASHES = dict.fromkeys(map(ord, "\u2212\u2012\u2013\u2014\u2015\ufe63\uff0d\u2010\u2011"), "-")
_SLASHES = dict.fromkeys(map(ord, "\u2044\u2215\uff0f\u00f7"), "/")
_POINTS = dict.fromkeys(map(ord, "\u066b\u2396"), ".")
_TIMES = dict.fromkeys(map(ord, "\u00d7\u00b7\u22c5\u2715\u2a2f"), "*")
_SUPERSCRIPT = re.compile("[\u207a\u207b\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+")
_NONFINITE = re.compile(r"\b(nan|inf|infinity|infty)\b|\u221e", re.IGNORECASE)

_MANTISSA = r"(?:\d+(?:\.\d*)?|\.\d+)"
_NUMBER = re.compile(
    rf"""
    (?<![A-Za-z_\d.])                              # not the tail of a name like r1 or x2
    (?P<sign>[+-])?\s*
    (?P<mant>{_MANTISSA})
    (?:
        [eE](?P<exp>[+-]?\d+)                      # 1.2e-1
      | \s*(?:\*|x|X)\s*10\s*(?:\^|\*\*)\s*(?P<exp10>[+-]?\d+)   # 1.2 x 10^-1
    )?
    (?:\s*/\s*(?P<den>{_MANTISSA}))?               # 6/5
    (?P<pct>\s*%)?
    (?![A-Za-z_\d.])
    """,
    re.VERBOSE | re.ASCII,
)
_LEFTOVER_BAD = re.compile(r"[\d+\-*/^%]")


def _normalise(raw: str) -> str:
    """NFKC (full-width digits, superscripts), any Unicode digit to ASCII, dashes to '-'.

    >>> _normalise("\uff11\uff0e\uff12 \u00d7 10\u207b\u00b9")
    '1.2 * 10^-1'
    """
    text = _SUPERSCRIPT.sub(lambda m: "^" + unicodedata.normalize("NFKC", m.group(0)), raw)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text
    )
    text = text.translate(_DASHES).translate(_TIMES).translate(_SLASHES).translate(_POINTS)
    return " ".join(text.split())


def _comma_decimal(text: str) -> str | FormatError:
    """Thousands separators and a decimal comma; ``1,200`` alone is ambiguous."""
    if "," not in text:
        return text
    if re.fullmatch(r"[^,]*\d{1,3}(,\d{3}){2,}(\.\d+)?\b[^,]*", text) or re.search(
        r"\d,\d{3}\.\d", text
    ):
        return re.sub(r"(?<=\d),(?=\d{3})", "", text)
    if re.search(r"\d,\d{3}(?!\d)", text):
        return FormatError("a comma is ambiguous here: write 1200 or 1.2, without a comma")
    if len(re.findall(r"\d,\d", text)) == 1:
        return re.sub(r"(?<=\d),(?=\d)", ".", text)  # decimal comma: 0,5
    return text


def parse_number(raw: str, *, allow_percent: bool = False) -> ParsedNumber | FormatError:
    """One finite number from what a student typed, or a format error.

    Text around the number is allowed (``= 1.2``, ``about 1.2``); if the answer has an
    ``=``, the number after the last one is read. Two numbers, an unreadable number, a
    percentage where the item does not take one, NaN and infinity are format errors.

    >>> parse_number("-1.2e-1").value, parse_number("\u22120.3").value
    (-0.12, -0.3)
    >>> parse_number("1.20").sigfigs
    3
    >>> parse_number("1.5 * 1.6").message
    'enter one number (found 1.5 and 1.6); a fraction like 6/5 is fine'
    """
    if len(raw) > MAX_NUMBER_CHARS:
        return FormatError(f"the answer is longer than {MAX_NUMBER_CHARS} characters")
    text = _normalise(raw)
    if _NONFINITE.search(text):
        return FormatError("NaN and infinity are not numbers we can grade: enter a finite number")
    for sign in ("=", "\u2248", "\u2243", "~="):
        if sign in text:
            text = text.rsplit(sign, 1)[1]
    text = _comma_decimal(text)
    if isinstance(text, FormatError):
        return text
    found = list(_NUMBER.finditer(text))
    if not found:
        return FormatError("no number found: enter a number such as 1.2, -0.3, 1.2e-1 or 6/5")
    if len(found) > 1:
        shown = " and ".join(m.group(0).strip() for m in found[:2])
        return FormatError(f"enter one number (found {shown}); a fraction like 6/5 is fine")
    match = found[0]
    leftover = text[: match.start()] + " " + text[match.end() :]
    if _LEFTOVER_BAD.search(leftover):
        return FormatError(f"cannot read {raw.strip()!r} as one number")
    return _to_number(match, allow_percent)


def _to_number(match: re.Match[str], allow_percent: bool) -> ParsedNumber | FormatError:
    exp = match.group("exp") or match.group("exp10")
    try:
        number = Decimal(match.group("mant") + (f"E{exp}" if exp else ""))
        if match.group("sign") == "-":
            number = -number
        if match.group("pct"):
            if not allow_percent:
                return FormatError("this answer is not a percentage: enter it as a decimal")
            number = number.scaleb(-2)
        if match.group("den") is not None:
            den = Decimal(match.group("den"))
            if den == 0:
                return FormatError("division by zero")
            value = float(Fraction(number) / Fraction(den))
            number = Decimal(repr(value))
        value = float(number)
    except (DecimalException, OverflowError):  # e.g. 1E1000010% overflows the context
        return FormatError("the number is out of range")
    if value != value or value in (float("inf"), float("-inf")):
        return FormatError("the number is too large to grade")
    text = str(number)
    return ParsedNumber(value=value, text=text, sigfigs=max(1, len(number.as_tuple().digits)))


# --------------------------------------------------------------------------- choices
_SEPARATORS = re.compile(r"\s*(?:[,;/&+]|\band\b)\s*", re.IGNORECASE)
_LABEL_DECOR = re.compile(r"^(?:option|answer|choice)?\s*[(\[]?\s*(\w)\s*[)\].:]?$", re.IGNORECASE)


def _norm_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(".")


def _one(piece: str, options: Sequence[Labelled]) -> str | None:
    """The label a piece names: a label (``b``, ``(b)``, ``b)``), the option text, or
    a label followed by that option's text."""
    piece = piece.strip()
    labels = {o.label.casefold(): o.label for o in options}
    match = _LABEL_DECOR.match(piece)
    if match and match.group(1).casefold() in labels:
        return labels[match.group(1).casefold()]
    wanted = _norm_text(piece)
    for option in options:
        if wanted == _norm_text(option.text):
            return option.label
    prefixed = re.match(r"^[(\[]?\s*(\w)\s*[)\].:]\s*(.+)$", piece)
    if prefixed and prefixed.group(1).casefold() in labels:
        label = labels[prefixed.group(1).casefold()]
        return label if _one(prefixed.group(2), options) == label else None
    return None


def parse_choice(
    raw: str, options: Sequence[Labelled], *, multiple: bool = False
) -> ParsedChoice | FormatError:
    """The options chosen, by label (``B``, ``b)``, ``(b)``) or by option text.

    >>> from types import SimpleNamespace as O
    >>> opts = [O(label=c, text=t) for c, t in zip("ABC", ["too low", "too high", "fine"])]
    >>> parse_choice("(b)", opts), parse_choice("Too high.", opts).labels
    (ParsedChoice(labels=('B',)), ('B',))
    >>> parse_choice("a, C", opts, multiple=True).text
    'A, C'
    >>> parse_choice("A, C", opts).message
    'choose one option'
    """
    text = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not text:
        return FormatError("no option chosen")
    order = {o.label: i for i, o in enumerate(options)}
    whole = _one(text, options)
    if whole is not None:
        return ParsedChoice((whole,))
    pieces = [p for p in _SEPARATORS.split(text) if p.strip()]
    if len(pieces) == 1 and multiple and " " in text:
        pieces = text.split()
    if len(pieces) == 1 and multiple and text.isalpha() and len(text) <= len(options):
        pieces = list(text)  # "AC"
    chosen = [_one(p, options) for p in pieces]
    if not pieces or any(c is None for c in chosen):
        labels = ", ".join(o.label for o in options)
        return FormatError(f"answer with option labels ({labels}) or an option's exact text")
    labels = tuple(sorted({c for c in chosen if c is not None}, key=order.__getitem__))
    if not multiple and len(labels) > 1:
        return FormatError("choose one option")
    return ParsedChoice(labels)


# --------------------------------------------------------------------------- text
def parse_text(raw: str, *, max_words: int | None = None) -> ParsedText | FormatError:
    """A free-text answer: non-empty, at most ``max_words`` words.

    >>> parse_text("  The  KL penalty  keeps it close. ").text
    'The KL penalty keeps it close.'
    >>> parse_text("   ").message
    'the answer is empty'
    """
    lines = (" ".join(line.split()) for line in unicodedata.normalize("NFKC", raw).splitlines())
    text = "\n".join(line for line in lines if line)
    if not text:
        return FormatError("the answer is empty")
    if max_words is not None and len(text.split()) > max_words:
        return FormatError(f"the answer has {len(text.split())} words; the limit is {max_words}")
    return ParsedText(text)
