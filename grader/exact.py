"""Exact and tolerance grading: multiple choice and numeric answers.

``grade(variant, parsed, item)`` takes what :mod:`grader.parse` returned. A format error
never reaches grading (PrairieLearn: it blocks grading and costs no attempt), so passing
one raises :class:`~grader.errors.GradingError`.

Numeric answers go through the one tolerance model, ``NumericAnswer.accepts``. A wrong
answer that equals what a known mistake gives (a misconception of the item, evaluated on
the variant's parameters, matched with the key's own tolerance moved to the mistake's
value, ``NumericAnswer.at``: the same absolute, relative and significant-figure terms)
gets that mistake's feedback and credit.

Multiple answer follows the variant's ``partial_credit`` rule through
``Variant.choice_score``, the one rule the exports use too.

>>> from questions.models import NumericAnswer
>>> from questions.variants import Variant
>>> from grader.parse import parse_number
>>> v = Variant(student_id="s1", item_id="demo", kind="numeric", title="t", points=2,
...             seed=0, prompt="p", answer=NumericAnswer(value=2.4, rtol=0.01))
>>> grade(v, parse_number("2.41")).points
2.0
>>> grade(v, parse_number("-2.4")).feedback[0]
'Check the sign: the magnitude is right but the sign is not.'
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.errors import GradingError
from grader.parse import FormatError, ParsedChoice, ParsedNumber, ParsedText, ParseResult
from grader.result import GradeResult
from questions.generate import misconception_values
from questions.models import (
    EssayItem,
    ItemSpec,
    Misconception,
    NumericAnswer,
    NumericItem,
)
from questions.variants import Variant, VariantOption

__all__ = ["grade", "grade_choice", "grade_numeric", "misconception_values"]


def grade(variant: Variant, parsed: ParseResult, item: ItemSpec | None = None) -> GradeResult:
    """Grade a parsed answer to a variant of any kind.

    ``item`` is the spec the variant was generated from; it brings the misconceptions of
    a numeric item (without it: no misconception feedback) and the references and rubric
    of an essay (required; graded by :mod:`grader.essay`, which loads the model lazily).
    """
    if isinstance(parsed, FormatError):
        raise GradingError(f"a format error blocks grading: {parsed.message}")
    if item is not None and item.id != variant.item_id:
        raise GradingError(f"variant of {variant.item_id!r} graded with item {item.id!r}")
    if variant.kind == "numeric" and isinstance(parsed, ParsedNumber):
        misconceptions = item.misconceptions if isinstance(item, NumericItem) else ()
        return grade_numeric(variant, parsed.value, misconceptions)
    if variant.kind == "multiple_choice" and isinstance(parsed, ParsedChoice):
        return grade_choice(variant, parsed.labels)
    if variant.kind == "essay" and isinstance(parsed, ParsedText):
        if not isinstance(item, EssayItem):
            raise GradingError("grading an essay needs its item (references and rubric)")
        from grader.essay import grade_essay  # numpy and, on first use, the model

        result = grade_essay(item, parsed.text)
        return result.model_copy(update={"points": round(result.score * variant.points, 10)})
    raise GradingError(f"a {type(parsed).__name__} cannot answer a {variant.kind} item")


# --------------------------------------------------------------------------- numeric
def grade_numeric(
    variant: Variant, x: float, misconceptions: Sequence[Misconception] = ()
) -> GradeResult:
    """Grade the number ``x`` against the variant's key, naming a known mistake if any."""
    key = variant.answer
    if key is None:
        raise GradingError(f"numeric variant of {variant.item_id!r} has no answer")
    if key.accepts(x):
        return GradeResult.of(1.0, points=variant.points, feedback=["Correct."])
    by_name = {m.name: m for m in misconceptions}
    matches = [
        (abs(x - value), name)
        for name, value in misconception_values(variant, misconceptions).items()
        if key.at(value).accepts(x)
    ]
    if matches:
        mistake = by_name[min(matches)[1]]
        return GradeResult.of(
            mistake.credit,
            points=variant.points,
            feedback=[mistake.feedback],
            evidence={"misconception": mistake.name},
        )
    return GradeResult.of(0.0, points=variant.points, feedback=[_hint(key, x)])


def _hint(key: NumericAnswer, x: float) -> str:
    """Generic feedback for a wrong number that no known mistake explains.

    When the item asks for significant figures and they set the margin, an answer within
    ten margins (right to one figure fewer) is told it is close and how to round.

    >>> key = NumericAnswer(value=0.012345, sigfigs=3)
    >>> _hint(key, 0.0124)[:56]
    'Close, but not to 3 significant figures (±5e-05): keep e'
    >>> _hint(key, 0.02)
    'Not within the tolerance (±5e-05, 3 significant figures) of the correct value.'
    """
    if x != 0 and key.accepts(-x):
        return "Check the sign: the magnitude is right but the sign is not."
    if key.accepts(x / 100):
        return "Your answer is 100 times too large: give a fraction, not a percentage."
    if key.accepts(x * 100):
        return "Your answer is 100 times too small: check the units asked for."
    margin = f"±{key.margin:.3g}" if key.margin > 0 else "exact"
    by_sigfigs = key.sig_margin > 0 and key.sig_margin == key.margin
    if by_sigfigs and abs(x - key.value) <= 10 * key.margin:
        return (
            f"Close, but not to {key.sigfigs} significant figures ({margin}): keep every "
            f"digit until the end, then round the final result to {key.sigfigs} "
            "significant figures."
        )
    if by_sigfigs:
        margin += f", {key.sigfigs} significant figures"
    return f"Not within the tolerance ({margin}) of the correct value."


# --------------------------------------------------------------------------- choices
def grade_choice(variant: Variant, labels: Sequence[str]) -> GradeResult:
    """Grade chosen option labels, with each chosen option's feedback and the missed ones.

    The score is ``Variant.choice_score``, the one rule our grading and every export use.
    """
    options: dict[str, VariantOption] = {o.label: o for o in variant.options}
    unknown = [label for label in labels if label not in options]
    if unknown or not labels:
        raise GradingError(f"no option {', '.join(unknown) or '(none)'} in {variant.item_id!r}")
    if not variant.multiple and len(labels) != 1:
        raise GradingError(f"{variant.item_id!r} takes one option, got {len(labels)}")
    chosen = set(labels)
    score = variant.choice_score(chosen)
    feedback = []
    for o in variant.options:
        if o.label in chosen:
            mark = "right" if o.correct else "wrong"
            feedback.append(f"{o.label} ({mark}): {o.feedback}")
        elif o.correct and variant.multiple:
            feedback.append(f"{o.label} (missed, it is correct): {o.feedback}")
    return GradeResult.of(score, points=variant.points, feedback=feedback)
