"""Parsing what students type: numbers, option labels, free text."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.parse import (
    FormatError,
    ParsedChoice,
    ParsedNumber,
    parse_choice,
    parse_number,
    parse_text,
)

MANY = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OPTIONS = [
    SimpleNamespace(label=label, text=text)
    for label, text in zip(
        "ABCD",
        [
            "beta is too low",
            "beta is too high",
            "the clip range is too wide",
            "none of the above",
        ],
        strict=True,
    )
]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.2", 1.2),
        ("-0.3", -0.3),
        ("+.5", 0.5),
        ("1.2e-1", 0.12),
        ("1.2E+1", 12.0),
        ("1.2 x 10^-1", 0.12),
        ("1.2 × 10⁻¹", 0.12),
        ("1.2*10**-1", 0.12),
        ("6/5", 1.2),
        ("-6 / 5", -1.2),
        ("½", 0.5),
        ("\u22120.3", -0.3),  # Unicode minus
        ("\u20130.3", -0.3),  # en dash, as word processors type it
        ("\uff11\uff0e\uff12", 1.2),  # full-width digits and point
        ("\uff0d\uff10\uff0e\uff13", -0.3),  # full-width minus
        ("٣٫٥", 3.5),  # Arabic-Indic digits
        ("= 1.2", 1.2),
        ("r*A = 2.4", 2.4),
        ("1.5 * 1.6 = 2.4", 2.4),
        ("L ≈ -0.36", -0.36),
        ("the answer is about 2.4 (rounded)", 2.4),
        ("  2.4\n", 2.4),
        ("0,5", 0.5),  # decimal comma
        ("1,234,567", 1234567.0),
        ("1,200.5", 1200.5),
        ("x2 = 3", 3.0),  # the 2 of a name is not a number
    ],
)
def test_numbers_as_students_type_them(raw: str, value: float) -> None:
    parsed = parse_number(raw)
    assert isinstance(parsed, ParsedNumber), parsed
    assert math.isclose(parsed.value, value, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("", "no number"),
        ("abc", "no number"),
        ("nan", "NaN"),
        ("NaN", "NaN"),
        ("inf", "infinity"),
        ("-Infinity", "infinity"),
        ("∞", "infinity"),
        ("1e999", "too large"),
        ("1.5 * 1.6", "one number"),
        ("0.5 ± 0.1", "one number"),
        ("1 200", "one number"),
        ("--1", "cannot read"),
        ("-(2.4)", "cannot read"),
        ("1/0", "division by zero"),
        ("1,200", "ambiguous"),
        ("12%", "percentage"),
        ("9" * 300, "longer than"),
    ],
)
def test_malformed_numbers_are_format_errors(raw: str, needle: str) -> None:
    parsed = parse_number(raw)
    assert isinstance(parsed, FormatError)
    assert needle in parsed.message


def test_percent_only_where_the_item_allows_it() -> None:
    assert parse_number("12%", allow_percent=True).value == pytest.approx(0.12)
    assert parse_number("12 %", allow_percent=True).text == "0.12"
    assert parse_number("12.0%", allow_percent=True).sigfigs == 3
    assert isinstance(parse_number("12%"), FormatError)
    huge = parse_number("1E1000010%", allow_percent=True)  # found by hypothesis: overflowed
    assert isinstance(huge, FormatError) and "out of range" in huge.message


def test_significant_figures_are_kept_as_typed() -> None:
    assert parse_number("1.20").sigfigs == 3
    assert parse_number("0.0120").sigfigs == 3
    assert parse_number("1.2e-1").sigfigs == 2
    assert parse_number("1.20").text == "1.20"


def _spelled(x: float, style: int) -> str:
    """``x`` as one of the ways a student might type it."""
    spelled = [
        repr(x),
        f"{x:.6g}",
        f"{x:e}",
        f"= {x!r}",
        f"r*A = {x!r}",
        repr(x).replace("-", "\u2212"),
        f"  {x!r}  ",
        f"answer: {x:.4g}",
    ]
    return spelled[style % len(spelled)]


@MANY
@given(st.floats(min_value=-1e300, max_value=1e300), st.integers(0, 7))
def test_finite_floats_read_back(x: float, style: int) -> None:
    raw = _spelled(x, style)
    parsed = parse_number(raw)
    assert isinstance(parsed, ParsedNumber), (raw, parsed)
    expected = float(raw.split("=")[-1].replace("\u2212", "-").replace("answer:", ""))
    assert parsed.value == expected


@MANY
@given(st.one_of(st.text(max_size=40), st.text("-+ =.,/%eE0123456789x^*\u2212\uff11", max_size=20)))
def test_parse_number_never_crashes_and_is_idempotent(raw: str) -> None:
    for allow_percent in (False, True):
        parsed = parse_number(raw, allow_percent=allow_percent)
        assert isinstance(parsed, ParsedNumber | FormatError)
        if isinstance(parsed, ParsedNumber):
            assert math.isfinite(parsed.value)
            assert parse_number(parsed.text, allow_percent=allow_percent) == parsed


@pytest.mark.parametrize(
    ("raw", "labels"),
    [
        ("B", ("B",)),
        ("b", ("B",)),
        ("b)", ("B",)),
        ("(b)", ("B",)),
        ("B.", ("B",)),
        ("[c]", ("C",)),
        ("option D", ("D",)),
        ("Beta is too HIGH.", ("B",)),
        ("b) beta is too high", ("B",)),
    ],
)
def test_single_choice_by_label_or_text(raw: str, labels: tuple[str, ...]) -> None:
    assert parse_choice(raw, OPTIONS) == ParsedChoice(labels)


@pytest.mark.parametrize(
    ("raw", "labels"),
    [
        ("A, C", ("A", "C")),
        ("c; a", ("A", "C")),
        ("(a) and (c)", ("A", "C")),
        ("A C", ("A", "C")),
        ("AC", ("A", "C")),
        ("A, A", ("A",)),
        ("beta is too low, the clip range is too wide", ("A", "C")),
    ],
)
def test_multiple_answer(raw: str, labels: tuple[str, ...]) -> None:
    assert parse_choice(raw, OPTIONS, multiple=True) == ParsedChoice(labels)


@pytest.mark.parametrize("raw", ["", "  ", "E", "A, C", "beta is fine", "b) beta is too low"])
def test_unreadable_choices_are_format_errors(raw: str) -> None:
    assert isinstance(parse_choice(raw, OPTIONS), FormatError)


@MANY
@given(st.one_of(st.text(max_size=30), st.text(" ABCDEabcde(),;.&/", max_size=12)))
def test_parse_choice_never_crashes_and_is_idempotent(raw: str) -> None:
    for multiple in (False, True):
        parsed = parse_choice(raw, OPTIONS, multiple=multiple)
        assert isinstance(parsed, ParsedChoice | FormatError)
        if isinstance(parsed, ParsedChoice):
            assert parsed.labels
            assert parse_choice(parsed.text, OPTIONS, multiple=multiple) == parsed


@MANY
@given(st.text(max_size=60))
def test_parse_text_never_crashes_and_is_idempotent(raw: str) -> None:
    parsed = parse_text(raw, max_words=5)
    if not isinstance(parsed, FormatError):
        assert parsed.text.strip()
        assert parse_text(parsed.text, max_words=5) == parsed


def test_text_limits() -> None:
    assert isinstance(parse_text("one two three", max_words=2), FormatError)
    assert parse_text("a\n\n  b").text == "a\nb"
