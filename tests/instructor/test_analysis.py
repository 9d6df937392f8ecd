"""Item analysis against the textbook formulas, by hand, and from a real gradebook."""

from __future__ import annotations

import math

import pytest

from grader.analysis import (
    analyse,
    cronbach_alpha,
    difficulty,
    discrimination,
    histogram,
    pearson,
)
from grader.result import GradeResult

# Five students, four right/wrong items (1 = right).
MATRIX = [
    [1, 1, 1, 0],
    [1, 1, 0, 1],
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [1, 1, 1, 1],
]


def _pbis_textbook(item: list[int], rest: list[float]) -> float:
    """Point-biserial by the textbook formula: (M1 - M0) / s * sqrt(p q), with s the
    population standard deviation of the rest score."""
    n = len(item)
    ones = [r for x, r in zip(item, rest, strict=True) if x == 1]
    zeros = [r for x, r in zip(item, rest, strict=True) if x == 0]
    p = len(ones) / n
    mean = sum(rest) / n
    s = math.sqrt(sum((r - mean) ** 2 for r in rest) / n)
    return (sum(ones) / len(ones) - sum(zeros) / len(zeros)) / s * math.sqrt(p * (1 - p))


def test_discrimination_is_the_textbook_point_biserial_with_the_rest_score() -> None:
    got = discrimination(MATRIX)
    for j in range(4):
        item = [row[j] for row in MATRIX]
        rest = [sum(row) - row[j] for row in MATRIX]
        assert got[j] == pytest.approx(_pbis_textbook(item, rest), abs=1e-12)
    # by hand for item 1: rest scores of the right answers 2, 2, 0, 3 (mean 7/4), of the
    # wrong one 1; rest scores 2, 2, 0, 1, 3 have mean 8/5 and population variance 26/25
    assert got[0] == pytest.approx((7 / 4 - 1) / math.sqrt(26 / 25) * math.sqrt(4 / 5 * 1 / 5))


def test_alpha_is_kr20_on_right_wrong_items_and_a_hand_value() -> None:
    n, k = len(MATRIX), 4
    pq = sum((p := sum(r[j] for r in MATRIX) / n) * (1 - p) for j in range(k))
    totals = [sum(r) for r in MATRIX]
    mean = sum(totals) / n
    var_pop = sum((t - mean) ** 2 for t in totals) / n
    kr20 = k / (k - 1) * (1 - pq / var_pop)
    assert cronbach_alpha(MATRIX) == pytest.approx(kr20, abs=1e-12)
    # totals 3, 3, 1, 1, 4: population variance 7.2 / 5 = 1.44; item p = .8, .8, .4, .4:
    # sum of pq = .16 + .16 + .24 + .24 = .8
    assert cronbach_alpha(MATRIX) == pytest.approx(4 / 3 * (1 - 0.8 / 1.44))


def test_difficulty_partial_credit_and_degenerate_cases() -> None:
    assert difficulty([[2, 0.5], [1, 0.0], [0, 1.0]], [2, 1]) == [0.5, 0.5]
    assert difficulty([], [1, 2]) == [None, None]
    same = [[1, 0], [1, 1], [1, 0]]  # everyone right on item 1: no discrimination
    assert discrimination(same)[0] is None
    assert pearson([1, 2], [3, 3]) is None
    assert cronbach_alpha([[1, 1]]) is None and cronbach_alpha([[1], [0]]) is None
    assert cronbach_alpha([[1, 1], [1, 1]]) is None  # totals do not vary
    assert histogram([0, 84, 41.9, 42], 84, bins=2) == [2, 2]


def test_analyse_reads_the_last_attempt_and_skips_ungraded(tiny_book, tiny_quiz) -> None:
    book, q = tiny_book, tiny_quiz
    items = list(q.item_ids)
    points = {i: q.items[i].points for i in items}
    earned = {"s001": [1.0, 0.0, 1.0], "s002": [1.0, 1.0, 0.5], "s003": [0.0, 0.0, 0.25]}
    for sid, fractions in earned.items():
        if sid == "s001":  # a first attempt that scored nothing: the last one counts
            first = book.submit(sid, q.quiz_id, "first", {items[0]: "0"})
            zeros = {i: GradeResult.of(0.0, points=points[i]) for i in items}
            book.record_grades(first.id, zeros, grader="t", grader_version="1")
        sub = book.submit(sid, q.quiz_id, "c1", {items[0]: "1"})
        book.record_grades(sub.id, {i: GradeResult.of(f, points=points[i])
                                    for i, f in zip(items, fractions, strict=True)},
                           grader="t", grader_version="1")  # fmt: skip
    book.submit("s004", q.quiz_id, "c1", {items[0]: "1"})  # stored, never graded

    a = analyse(book, q.quiz_id)
    assert a.students == ("s001", "s002", "s003") and a.not_graded == ("s004",)
    expected = [[f * points[i] for i, f in zip(items, earned[s], strict=True)]
                for s in a.students]  # fmt: skip
    assert [list(r) for r in a.matrix] == expected
    assert [s.difficulty for s in a.items] == pytest.approx([2 / 3, 1 / 3, 1.75 / 3])
    assert [s.discrimination for s in a.items] == discrimination(expected)
    assert a.alpha == cronbach_alpha(expected)
    assert a.max_points == sum(points.values())
    assert a.totals == tuple(sum(r) for r in expected)
