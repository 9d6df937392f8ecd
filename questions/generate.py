"""Variants and quizzes: one item, one student, one seed -> one ``Variant``.

PrairieLearn's life of a question, as functions over data: parameters are drawn from a
seed derived from (quiz seed, student, item), rounded as displayed, and the key is
computed from the rounded values by ``questions.ppo_math`` (through the item's answer
expression). Multiple-choice options are shuffled per student, fixed options staying put.

>>> from questions.bank import load_bank
>>> spec = load_bank().get("clip-positive-advantage")
>>> v = CompiledItem.build(spec).variant("s001", quiz_seed=1)
>>> from questions import ppo_math
>>> v.answer.value == ppo_math.clipped_surrogate(
...     v.params["ratio"], v.params["advantage"], v.params["clip_eps"])
True
"""

from __future__ import annotations

import gc
import math
import random
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from questions.errors import AssessmentError, BankError, ExpressionError
from questions.exhibits import load_exhibit
from questions.expr import Expression
from questions.models import Exhibit, ItemSpec, Misconception, MultipleChoiceItem, NumericItem
from questions.params import ParamSampler, derive_seed, digest
from questions.render import CompiledText, compile_text
from questions.tolerance import NumericAnswer
from questions.variants import Quiz, Student, Variant, VariantOption

__all__ = [
    "CompiledItem",
    "generate_quiz",
    "item_digest",
    "misconception_values",
    "paused_gc",
    "quiz_id",
]

LABELS = string.ascii_uppercase


@dataclass(frozen=True)
class CompiledItem:
    """An item with its expressions parsed and its text compiled, ready to make variants."""

    spec: ItemSpec
    sampler: ParamSampler
    prompt: CompiledText
    options: tuple[CompiledText, ...]
    feedback: tuple[CompiledText, ...]
    explanation: CompiledText
    answer: Expression | None
    multiple: bool = False
    partial_credit: str = "all_or_nothing"
    exhibit: Exhibit | None = None
    """Evidence shown with the prompt, loaded from the pack once per item."""

    @classmethod
    def build(cls, spec: ItemSpec) -> CompiledItem:
        try:
            sampler = ParamSampler.build(spec.params, spec.derived, spec.constraints)
            is_mc = isinstance(spec, MultipleChoiceItem)
            options = (
                tuple(compile_text(o.text, inline=True) for o in spec.options) if is_mc else ()
            )
            feedback = tuple(compile_text(o.feedback) for o in spec.options) if is_mc else ()
            answer = Expression.parse(spec.answer.expr) if isinstance(spec, NumericItem) else None
            return cls(
                spec=spec,
                sampler=sampler,
                prompt=compile_text(spec.prompt),
                options=options,
                feedback=feedback,
                explanation=compile_text(spec.explanation),
                answer=answer,
                multiple=is_mc and spec.multiple,
                partial_credit=spec.partial_credit if is_mc else "all_or_nothing",
                exhibit=load_exhibit(spec.evidence),
            )
        except AssessmentError as exc:
            raise BankError(f"item {spec.id!r}: {exc.message}") from None

    def variant(self, student_id: str, quiz_seed: int) -> Variant:
        """The variant of this item for one student."""
        spec = self.spec
        seed = derive_seed(quiz_seed, student_id, spec.id)
        params = self.sampler.draw(seed)
        display = self.sampler.display(params)
        answer = None
        if isinstance(spec, NumericItem):
            assert self.answer is not None
            a = spec.answer
            value = float(f"{float(self.answer.evaluate(params)):.12g}") + 0.0  # no float noise
            answer = NumericAnswer(value=value, rtol=a.rtol, atol=a.atol, sigfigs=a.sigfigs,
                                   decimals=a.decimals)  # fmt: skip
            display_all = {**display, "answer": answer.display()}
        else:
            display_all = display
        options: tuple[VariantOption, ...] = ()
        if isinstance(spec, MultipleChoiceItem):
            order = _option_order(spec, seed)
            options = tuple(
                VariantOption(
                    label=LABELS[pos],
                    text=self.options[i].markdown.render(display),
                    correct=spec.options[i].correct,
                    feedback=self.feedback[i].markdown.render(display),
                    source_index=i,
                )
                for pos, i in enumerate(order)
            )
        return Variant(
            student_id=student_id,
            item_id=spec.id,
            kind=spec.kind,
            title=spec.title,
            points=spec.points,
            seed=seed,
            params=params,
            display=display,
            prompt=self.prompt.markdown.render(display),
            options=options,
            multiple=self.multiple,
            partial_credit=self.partial_credit,
            answer=answer,
            explanation=self.explanation.markdown.render(display_all),
            exhibit=self.exhibit,
        )

    def html(self, variant: Variant) -> tuple[str, list[str]]:
        """The variant's prompt and option texts as HTML (MathML math)."""
        prompt = self.prompt.html.render(variant.display)
        options = [
            self.options[o.source_index].html.render(variant.display) for o in variant.options
        ]
        return prompt, options


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a big quiz allocates ~10^6 acyclic objects,
    and the collector's repeated full scans of them would triple the run time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _option_order(spec: MultipleChoiceItem, seed: int) -> list[int]:
    """Shuffled option indices; options marked ``fixed`` keep their position."""
    order = list(range(len(spec.options)))
    if not spec.shuffle:
        return order
    movable = [i for i in order if not spec.options[i].fixed]
    shuffled = movable[:]
    random.Random(seed ^ 0x5EED).shuffle(shuffled)
    it = iter(shuffled)
    return [i if spec.options[i].fixed else next(it) for i in order]


def misconception_values(
    variant: Variant, misconceptions: Sequence[Misconception]
) -> dict[str, float]:
    """What each known mistake gives on this variant's parameters (the grader's feedback
    and every LMS export use this one function).

    A mistake whose value equals the key here (within tolerance) cannot be told apart
    from a correct answer and is left out, as is one whose expression fails here.

    >>> from questions.models import NumericAnswer, Misconception
    >>> from questions.variants import Variant
    >>> v = Variant(student_id="s1", item_id="demo", kind="numeric", title="t", points=1,
    ...             seed=0, prompt="p", params={"ratio": 1.5, "advantage": 2.0},
    ...             answer=NumericAnswer(value=2.4, rtol=0.01))
    >>> m = Misconception(name="unclipped", expr="ratio * advantage", feedback="rA")
    >>> misconception_values(v, [m])
    {'unclipped': 3.0}
    """
    assert variant.answer is not None
    values: dict[str, float] = {}
    for m in misconceptions:
        try:
            value = float(Expression.parse(m.expr).evaluate(variant.params))
        except (ExpressionError, TypeError, OverflowError):
            continue
        if math.isfinite(value) and not variant.answer.accepts(value):
            values[m.name] = value + 0.0
    return values


def item_digest(spec: ItemSpec) -> str:
    """Content hash of an item (its canonical JSON)."""
    return digest(spec.model_dump_json().encode())


def quiz_id(specs: Sequence[ItemSpec], students: Sequence[Student], seed: int) -> str:
    """Content-hash id: sorted item digests, sorted student ids and the seed (so the
    order of items or roster rows does not change it)."""
    parts = sorted(item_digest(s) for s in specs) + sorted(s.student_id for s in students)
    return "q" + digest("\n".join([str(seed), *parts]).encode(), size=8)


def generate_quiz(
    specs: Sequence[ItemSpec],
    students: Sequence[Student],
    seed: int,
    title: str = "RLHF: PPO and the KL penalty",
    compiled: dict[str, CompiledItem] | None = None,
    progress=None,
) -> Quiz:
    """Every student's variants of every item. ``progress(n)`` is called per student."""
    if not specs:
        raise BankError("no items selected")
    items = compiled or {s.id: CompiledItem.build(s) for s in specs}
    variants: dict[str, tuple[Variant, ...]] = {}
    with paused_gc():
        for student in students:
            variants[student.student_id] = tuple(
                items[s.id].variant(student.student_id, seed) for s in specs
            )
            if progress is not None:
                progress(1)
    return Quiz(
        quiz_id=quiz_id(specs, students, seed),
        title=title,
        seed=seed,
        item_ids=tuple(s.id for s in specs),
        students=tuple(students),
        variants=variants,
        items={s.id: s for s in specs},
    )
