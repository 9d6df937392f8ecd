"""What grading returns: a score in [0, 1], points, a verdict and feedback.

One ``GradeResult`` for every kind of item, so the gradebook, the CLI's ``--json`` and
the reports read one shape. Verdicts follow SemEval-2013's 3-way labels plus partial
credit: ``contradictory`` means the answer contradicts the key (the wrong stance, or
both stances at once).

>>> r = GradeResult.of(0.5, points=2, feedback=["half right"])
>>> r.points, r.verdict
(1.0, 'partially_correct')
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GradeResult", "Verdict", "verdict_for"]

Verdict = Literal["correct", "partially_correct", "contradictory", "incorrect"]


def verdict_for(score: float, *, correct_at: float = 0.999, partial_at: float = 1e-9) -> Verdict:
    """The verdict a score earns when nothing contradicts the key.

    >>> verdict_for(1.0), verdict_for(0.25), verdict_for(0.0)
    ('correct', 'partially_correct', 'incorrect')
    """
    if score >= correct_at:
        return "correct"
    return "partially_correct" if score >= partial_at else "incorrect"


class GradeResult(BaseModel):
    """The grade of one answer to one variant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float = Field(ge=0, le=1)
    """Fraction of the item's points earned."""
    points: float = Field(ge=0)
    verdict: Verdict
    feedback: tuple[str, ...] = ()
    """Sentences a student understands: what was right, missing, wrong."""
    confidence: float = Field(1.0, ge=0, le=1)
    """How sure the grader is (1 for exact grading)."""
    review: bool = False
    """Whether a human should look at this grade."""
    parts: dict[str, float] = {}
    """Per-part scores in [0, 1] (essays: similarity, stance, each concept)."""
    evidence: dict[str, str] = {}
    """Per part, the sentence of the answer that satisfied it."""

    @classmethod
    def of(
        cls, score: float, *, points: float, feedback: list[str] | tuple[str, ...] = (),
        verdict: Verdict | None = None, **extra: object,
    ) -> GradeResult:
        """A result with ``points = score * points`` and the default verdict."""
        score = min(1.0, max(0.0, score))
        return cls(
            score=score,
            points=round(score * points, 10),
            verdict=verdict or verdict_for(score),
            feedback=tuple(feedback),
            **extra,
        )
