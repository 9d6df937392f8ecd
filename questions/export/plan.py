"""What an LMS export of a per-student quiz is: per item, the variants to carry.

An LMS cannot hand student s001 exactly the variant we generated for s001: it draws a
variant for each student itself. So an export carries, per item, the *distinct variants
our roster drew* (in roster order, at most ``limit``), and the LMS picks one per attempt:

* an item with no drawn parameters (most multiple choice, every essay) is one question,
  with its options in the bank's order (the LMS shuffles them, per student);
* an item with drawn parameters becomes the LMS's randomised type where it has one
  (Moodle ``calculated``: a dataset of our drawn values; Canvas ``calculated_question``:
  our drawn values as variable sets) and else a group of K pre-drawn variants from which
  the LMS picks 1 (QTI 2.1 ``selection``, Moodle/GIFT category + random question).

Either way every key, tolerance and value an LMS sees is one our own grader would give
for one of our variants; what is lost is *which* student gets which variant.

Ids are content hashes: a draw's id hashes the item's canonical JSON and the drawn
parameters, so the same quiz exports to the same bytes, on any machine.

>>> m = NumericAnswer(value=2.4, rtol=0.01, atol=0.005)
>>> num(m.margin), num(-0.0), num(1e-05)
('0.024', '0.0', '1e-05')
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from questions.export.errors import ExportError
from questions.generate import item_digest, misconception_values
from questions.models import ItemSpec, Misconception, NumericItem
from questions.params import digest
from questions.tolerance import NumericAnswer
from questions.variants import Quiz, Variant, VariantOption

__all__ = ["Draw", "ItemPlan", "mistake_values", "num", "plan_quiz", "quiz_ident", "short"]


def num(x: float) -> str:
    """A float as the shortest text that reads back as the same float (no ``-0.0``)."""
    return repr(float(x) + 0.0)


def short(x: float) -> str:
    """A computed float (a margin, a bound) to 12 significant digits, as keys are made:
    ``0.0005256000000000001`` -> ``0.0005256``; far below any tolerance's grain."""
    return num(float(f"{x:.12g}"))


@dataclass(frozen=True)
class Draw:
    """One variant of an item as exported: its parameters, key and known mistakes."""

    variant: Variant
    ident: str
    mistakes: tuple[tuple[Misconception, float], ...] = ()
    """The item's misconceptions with the value each gives on this variant."""

    @property
    def answer(self) -> NumericAnswer:
        assert self.variant.answer is not None, "only numeric draws have an answer"
        return self.variant.answer

    @property
    def options(self) -> tuple[VariantOption, ...]:
        """The options in the bank's order (an LMS shuffles them itself)."""
        return tuple(sorted(self.variant.options, key=lambda o: o.source_index))


@dataclass(frozen=True)
class ItemPlan:
    """One item of the quiz as exported: its spec and the draws to carry."""

    spec: ItemSpec
    ident: str
    draws: tuple[Draw, ...]
    drawn: int
    """Distinct variants the roster drew (``len(draws)`` unless capped by ``limit``)."""

    @property
    def varying(self) -> bool:
        """Whether the item has drawn parameters (so several draws may be carried)."""
        return bool(self.spec.params)

    @property
    def numeric(self) -> NumericItem | None:
        return self.spec if isinstance(self.spec, NumericItem) else None

    def decimals(self, name: str) -> int:
        """Decimals a parameter is shown with (drawn or derived)."""
        spec = self.spec
        return spec.params[name].decimals if name in spec.params else spec.derived[name].decimals

    @property
    def param_names(self) -> list[str]:
        """Drawn then derived parameter names, in the spec's order."""
        return list(self.draws[0].variant.params)


def mistake_values(
    variant: Variant, misconceptions: Sequence[Misconception]
) -> tuple[tuple[Misconception, float], ...]:
    """What each known mistake gives on this variant, as the grader computes it."""
    values = misconception_values(variant, misconceptions)
    return tuple((m, values[m.name]) for m in misconceptions if m.name in values)


def plan_quiz(quiz: Quiz, limit: int) -> list[ItemPlan]:
    """Per item (in quiz order), the distinct variants the roster drew, at most ``limit``."""
    if not quiz.students:
        raise ExportError("the quiz has no students, so no variants to export")
    plans = []
    for index, item_id in enumerate(quiz.item_ids):
        spec = quiz.items[item_id]
        spec_hash = item_digest(spec)
        seen: dict[str, Variant] = {}
        for student in quiz.students:
            variant = quiz.variants[student.student_id][index]
            key = json.dumps(variant.params, sort_keys=True)
            seen.setdefault(key, variant)
        misconceptions = spec.misconceptions if isinstance(spec, NumericItem) else ()
        draws = tuple(
            Draw(
                variant=v,
                ident="i" + digest(f"{spec_hash}\x1f{key}".encode(), size=10),
                mistakes=mistake_values(v, misconceptions) if v.answer else (),
            )
            for key, v in list(seen.items())[:limit]
        )
        ident = "g" + digest("\x1f".join([spec_hash, *(d.ident for d in draws)]).encode(), 10)
        plans.append(ItemPlan(spec=spec, ident=ident, draws=draws, drawn=len(seen)))
    return plans


def quiz_ident(quiz: Quiz, plans: Sequence[ItemPlan]) -> str:
    """The export's id: its title and the sorted ids of its items (order-free)."""
    parts = [quiz.title, *sorted(p.ident for p in plans)]
    return "a" + digest("\x1f".join(parts).encode(), size=10)
