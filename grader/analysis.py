"""Item analysis of a graded quiz: difficulty, discrimination, Cronbach's alpha, totals.

The pure functions take a score matrix: one row per student, one column per item, each
cell the points earned (plain lists of floats, so they are easy to check by hand):

* **difficulty** of an item: the mean fraction of its points earned (classical test
  theory's p-value; 1 is easy, 0 is hard);
* **discrimination**: the point-biserial (Pearson) correlation of the item's score with
  the *rest* of the test (the total without that item: the corrected item-total
  correlation, so an item is not correlated with itself). Below
  :data:`LOW_DISCRIMINATION` an item is flagged; an item everyone scores alike has none
  (``None``);
* **Cronbach's alpha**: ``k/(k-1) * (1 - sum of item variances / variance of totals)``;
* **histogram** of total scores.

:func:`analyse` builds the matrix from a gradebook: each student's counted attempt
(the last one, as ``gradebook export`` counts it), fully graded attempts only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.store import Gradebook

__all__ = [
    "LOW_DISCRIMINATION",
    "ItemStats",
    "QuizAnalysis",
    "analyse",
    "cronbach_alpha",
    "difficulty",
    "discrimination",
    "histogram",
    "pearson",
    "variance",
]

LOW_DISCRIMINATION = 0.2
"""Items whose discrimination is below this are flagged for a look."""

Matrix = Sequence[Sequence[float]]


def variance(xs: Sequence[float]) -> float:
    """Sample variance (n - 1 in the denominator); 0 for fewer than two values.

    >>> variance([1, 2, 3, 4])
    1.6666666666666667
    """
    n = len(xs)
    if n < 2:
        return 0.0
    mean = sum(xs) / n
    return sum((x - mean) ** 2 for x in xs) / (n - 1)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; with a 0/1 ``xs`` it is the point-biserial correlation. None when
    either side does not vary (or there are fewer than two pairs).

    >>> pearson([1, 0, 1, 0], [4, 1, 3, 2])
    0.8944271909999159
    >>> pearson([1, 1, 1], [1, 2, 3]) is None
    True
    """
    n = len(xs)
    if n != len(ys):
        raise ValueError("pearson needs two sequences of one length")
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def difficulty(matrix: Matrix, max_points: Sequence[float]) -> list[float | None]:
    """Per item, the mean fraction of its points earned (None with no students).

    >>> difficulty([[1, 2], [0, 1]], [1, 2])
    [0.5, 0.75]
    """
    if not matrix:
        return [None] * len(max_points)
    n = len(matrix)
    return [sum(row[j] for row in matrix) / n / m if m else None
            for j, m in enumerate(max_points)]  # fmt: skip


def discrimination(matrix: Matrix) -> list[float | None]:
    """Per item, the correlation of its score with the rest-of-test score.

    >>> [round(d, 3) for d in discrimination([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])]
    [0.522, 0.707, 0.522]
    """
    if not matrix:
        return []
    totals = [sum(row) for row in matrix]
    out = []
    for j in range(len(matrix[0])):
        item = [row[j] for row in matrix]
        rest = [t - x for t, x in zip(totals, item, strict=True)]
        out.append(pearson(item, rest))
    return out


def cronbach_alpha(matrix: Matrix) -> float | None:
    """Cronbach's alpha of the items (columns); None with fewer than two items or
    students, or when the totals do not vary.

    >>> cronbach_alpha([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    0.75
    """
    if len(matrix) < 2 or len(matrix[0]) < 2:
        return None
    k = len(matrix[0])
    total_var = variance([sum(row) for row in matrix])
    if total_var <= 1e-12:
        return None
    item_var = sum(variance([row[j] for row in matrix]) for j in range(k))
    return k / (k - 1) * (1 - item_var / total_var)


def histogram(values: Sequence[float], top: float, bins: int = 10) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins over [0, top] (top in the last bin).

    >>> histogram([0, 4.9, 5, 10], 10, bins=2)
    [2, 2]
    """
    counts = [0] * bins
    for v in values:
        i = int(v / top * bins) if top > 0 else 0
        counts[min(max(i, 0), bins - 1)] += 1
    return counts


@dataclass(frozen=True)
class ItemStats:
    """The analysis of one item."""

    item_id: str
    title: str
    kind: str
    max_points: float
    difficulty: float | None
    discrimination: float | None

    @property
    def flagged(self) -> bool:
        """Low (or no) discrimination: the item does not separate strong from weak."""
        return self.discrimination is None or self.discrimination < LOW_DISCRIMINATION


@dataclass(frozen=True)
class QuizAnalysis:
    """Item analysis of a quiz over the students with a fully graded counted attempt."""

    quiz_id: str
    title: str
    students: tuple[str, ...]
    """Students in the analysis (rows of ``matrix``)."""
    not_graded: tuple[str, ...]
    """Students without a fully graded attempt (left out)."""
    items: tuple[ItemStats, ...]
    matrix: tuple[tuple[float, ...], ...]
    totals: tuple[float, ...]
    max_points: float
    alpha: float | None

    @property
    def mean(self) -> float | None:
        return sum(self.totals) / len(self.totals) if self.totals else None

    @property
    def sd(self) -> float | None:
        return math.sqrt(variance(self.totals)) if len(self.totals) > 1 else None


def analyse(book: Gradebook, quiz_id: str) -> QuizAnalysis:
    """The item analysis of ``quiz_id`` from the newest grades of each counted attempt."""
    quiz = book.load_quiz(quiz_id)
    item_ids = list(quiz.item_ids)
    students, missing, rows = [], [], []
    for t in book.totals(quiz_id, "last"):
        if t.points is None:
            if t.attempts:
                missing.append(t.student_id)
            continue
        students.append(t.student_id)
        rows.append(tuple(float(t.items.get(i, 0.0)) for i in item_ids))
    max_points = [float(quiz.items[i].points) for i in item_ids]
    diff = difficulty(rows, max_points)
    disc = discrimination(rows) or [None] * len(item_ids)
    stats = tuple(
        ItemStats(i, quiz.items[i].title, quiz.items[i].kind, m, d, r)
        for i, m, d, r in zip(item_ids, max_points, diff, disc, strict=True)
    )
    return QuizAnalysis(
        quiz_id=quiz_id, title=quiz.title, students=tuple(students), not_graded=tuple(missing),
        items=stats, matrix=tuple(rows), totals=tuple(sum(r) for r in rows),
        max_points=sum(max_points), alpha=cronbach_alpha(rows),
    )  # fmt: skip
