"""Pydantic models at every boundary: bank items, variants, quizzes, evidence.

``ItemSpec`` is what an instructor writes in YAML (``Essay | MultipleChoice | Numeric``,
discriminated on ``kind``). ``Variant`` is one item generated for one student: the student
view, the key, the LMS export and the grading all derive from it. Every model is frozen
and forbids unknown fields, so a typo in a bank file is an error, never a silent default.

>>> NumericAnswer(value=2.4, rtol=0.01).accepts(2.41)
True
>>> NumericAnswer(value=2.4, rtol=0.01).accepts(2.5)
False
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

__all__ = [
    "Bloom",
    "Concept",
    "EssayItem",
    "Evidence",
    "EvidenceClaim",
    "EvidenceLink",
    "Exhibit",
    "ItemSpec",
    "MAX_SIGFIGS",
    "Misconception",
    "MultipleChoiceItem",
    "NumericAnswer",
    "NumericItem",
    "NumericSpec",
    "Option",
    "ParamSpec",
    "DerivedParam",
    "Quiz",
    "Rubric",
    "SampleGroup",
    "Stance",
    "Student",
    "StudentItem",
    "SweepRecord",
    "StudentOption",
    "StudentPaper",
    "StudentQuiz",
    "Variant",
    "VariantOption",
    "Verdict",
]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$", max_length=40)]
StudentId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
]
Text = Annotated[str, StringConstraints(min_length=1)]
Bloom = Literal["remember", "understand", "apply", "analyze", "evaluate", "create"]
Verdict = Literal["reward_hacking", "healthy", "stuck"]
Kind = Literal["essay", "multiple_choice", "numeric"]
FigureName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*\.png$")]


MAX_SIGFIGS = 10
"""Keys are computed to 12 significant digits (``questions.generate``); a margin finer
than the 10th digit would be within 1 % of that rounding, so no item may ask for more."""


class Frozen(BaseModel):
    """Base of every model: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Sigfigs(Frozen):
    """A model with an optional ``sigfigs``: left out of the dump when unset, so items
    and quizzes written before it existed keep their bytes, content hashes and ids."""

    sigfigs: int | None = Field(None, ge=1, le=MAX_SIGFIGS, strict=True)
    """Significant figures the response must agree with the key to (half a unit in the
    last one); the key is then shown with that many significant figures."""

    _replaces: ClassVar[tuple[str, ...]] = ()
    """Fields that ``sigfigs`` replaces: left out of the dump when it is set."""

    @model_serializer(mode="wrap")
    def _omit_unset_sigfigs(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        sigfigs = data.pop("sigfigs", None)
        if sigfigs is not None:
            for name in self._replaces:
                data.pop(name, None)
            data["sigfigs"] = sigfigs  # last, after the fields it refines
        return data


# --------------------------------------------------------------------------- tolerance
class NumericAnswer(_Sigfigs):
    """The one tolerance model, used by our grader and by every LMS export.

    A response ``x`` is accepted when ``|x - value| <= margin``, where ``margin`` is the
    largest of three terms, each left out when not asked for:

    * ``atol``, an absolute margin in the answer's units;
    * ``rtol * |value|``, a fraction of the *key* (as Moodle and Canvas define it);
    * with ``sigfigs = n``, half a unit in the n-th significant digit of the key,
      ``0.5 * 10**(floor(log10|value|) - n + 1)``: the response agrees with the key to n
      significant figures. A key of exactly 0 has no significant figures, so this term
      is 0 there (give ``atol`` for an item whose key can be 0).

    The significant-figure rule is a symmetric margin around the key, not "both round to
    the same n digits", so every LMS can state it (a nominal tolerance per variant, see
    ``questions.export.rules``): the key correctly rounded to n figures is always
    accepted, a response with more correct digits too, and a response off by more than
    half a unit in the n-th digit never is. The key's decade is that of its decimal text
    (``repr``), so ``0.09996`` to 3 figures has the margin ``5e-05``, not ``5e-04``.

    >>> key = NumericAnswer(value=0.012345, sigfigs=3)
    >>> key.margin, key.display()
    (5e-05, '0.0123')
    >>> [key.accepts(x) for x in (0.0123, 0.01234, 0.012395, 0.0124, 0.012)]
    [True, True, True, False, False]
    """

    value: float
    rtol: float = Field(0.0, ge=0, le=1)
    """Relative tolerance, a fraction of |value| (0.01 = 1 %)."""
    atol: float = Field(0.0, ge=0)
    """Absolute tolerance, in the answer's units."""
    decimals: int = Field(3, ge=0, le=10)
    """Decimals the key is shown with when ``sigfigs`` is not set (the displayed key must
    itself be accepted)."""

    @property
    def sig_margin(self) -> float:
        """The significant-figure term of the margin (0 without ``sigfigs`` or for a key
        of 0): half a unit in the ``sigfigs``-th significant digit of the key."""
        if self.sigfigs is None or self.value == 0 or not math.isfinite(self.value):
            return 0.0
        return float(Decimal(5).scaleb(_exponent(self.value) - self.sigfigs))

    @property
    def margin(self) -> float:
        """The accepted distance from ``value`` (the one number every export states)."""
        return max(self.atol, self.rtol * abs(self.value), self.sig_margin)

    def at(self, value: float) -> NumericAnswer:
        """The same tolerance around another value (a misconception's, say).

        >>> NumericAnswer(value=0.5, sigfigs=2).at(12.3).margin
        0.5
        """
        return self.model_copy(update={"value": float(value)})

    def accepts(self, x: float) -> bool:
        """Whether ``x`` is within the tolerance (NaN and infinity never are)."""
        if not math.isfinite(x):
            return False
        margin = self.margin
        slack = 1e-14 * max(abs(self.value), margin)  # float noise at the exact border
        return abs(x - self.value) <= margin + slack

    def display(self) -> str:
        """The key as shown to instructors: ``value`` to ``sigfigs`` significant figures
        (positional, half up, trailing zeros kept), else rounded to ``decimals``.

        >>> [NumericAnswer(value=v, sigfigs=3).display() for v in (0.09996, -1234.5, 2.5)]
        ['0.100', '-1230', '2.50']
        """
        if self.sigfigs is not None and self.value != 0 and math.isfinite(self.value):
            return _significant(self.value, self.sigfigs)
        text = f"{self.value:.{self.decimals}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def _exponent(value: float) -> int:
    """``floor(log10(|value|))`` of the value's decimal text, exactly (no log10 rounding)."""
    return Decimal(repr(abs(value))).adjusted()


def _significant(value: float, n: int) -> str:
    """``value`` rounded half up to ``n`` significant figures, in positional notation."""
    exact = Decimal(repr(value))
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - n + 1), ROUND_HALF_UP)
    if rounded.adjusted() > exact.adjusted():  # 0.09996 -> 0.1000: one digit too many
        rounded = rounded.quantize(Decimal(1).scaleb(rounded.adjusted() - n + 1))
    return f"{rounded:f}"


# --------------------------------------------------------------------------- parameters
class ParamSpec(Frozen):
    """A parameter drawn per student: on the grid of ``decimals`` in ``[low, high]``, or
    one of ``choices``. The key is computed from the value as displayed (rounded)."""

    low: float | None = None
    high: float | None = None
    choices: tuple[float, ...] | None = None
    decimals: int = Field(2, ge=0, le=6)
    """Decimals shown to the student; the drawn value lies exactly on this grid."""

    @model_validator(mode="after")
    def _range_or_choices(self) -> ParamSpec:
        has_range = self.low is not None or self.high is not None
        if has_range == (self.choices is not None):
            raise ValueError("give either low and high, or choices")
        if has_range:
            if self.low is None or self.high is None:
                raise ValueError("give both low and high")
            if self.low > self.high:
                raise ValueError(f"low {self.low} is above high {self.high}")
        elif not self.choices:
            raise ValueError("choices is empty")
        return self


class DerivedParam(Frozen):
    """A value computed from the drawn parameters (e.g. ``1 + clip_eps``) and shown
    rounded to ``decimals``; templates show it, they never compute it."""

    expr: Text
    decimals: int = Field(2, ge=0, le=6)


# --------------------------------------------------------------------------- evidence
class EvidenceClaim(Frozen):
    """A claim checked against simulator runs: runs at ``kl_coef`` end in ``verdict``."""

    kl_coef: float = Field(ge=0)
    verdict: Verdict


class EvidenceLink(Frozen):
    """Link from an item to a simulator sweep whose runs back its key."""

    sweep: Slug
    """Name of the sweep (a folder of runs with a summary.json)."""
    claims: tuple[EvidenceClaim, ...] = ()
    show: Literal["none", "plot", "samples"] = "none"
    """What the student is shown from the runs."""
    figure: FigureName | None = None
    """File name of the plot in the shipped pack (``questions/evidence/<sweep>/``),
    shown when ``show`` is ``plot``."""
    samples: Slug | None = None
    """Name of a sample set in the pack's ``samples.json``, shown when ``show`` is
    ``samples``."""
    caption: str = ""
    """What students read under the figure or samples (and the image's alt text): it
    describes what is plotted, never the verdict or the beta the question asks for."""

    @model_validator(mode="after")
    def _shown_thing_named(self) -> EvidenceLink:
        if self.show == "plot" and self.figure is None:
            raise ValueError("show: plot needs a figure (a PNG file of the pack)")
        if self.show == "samples" and self.samples is None:
            raise ValueError("show: samples needs samples (a sample set of the pack)")
        if self.show != "none" and not self.caption.strip():
            raise ValueError("evidence shown to students needs a caption")
        return self


class SampleGroup(Frozen):
    """Sample texts a run generated at one training step."""

    step: int
    texts: tuple[str, ...]


class Exhibit(Frozen):
    """What a student is shown from a sweep: a figure of the pack (by file name; the bytes
    are read once per quiz, never stored per variant) or sample texts, with a caption."""

    sweep: Slug
    figure: FigureName | None = None
    samples: tuple[SampleGroup, ...] = ()
    caption: str = ""


class SweepRecord(Frozen):
    """One run of a simulator sweep, as ``DIR/summary.json`` lists it."""

    kl_coef: float = Field(ge=0)
    seed: int
    verdict: Verdict
    seconds: float = 0.0
    """Wall-clock time of the run."""
    final: dict[str, float] = {}
    """Final metrics, TRL-style names (``env/reward_mean``, ``objective/kl``, ...)."""


class Evidence(Frozen):
    """The outcome of one simulator run, as the bank sees it."""

    kl_coef: float
    seed: int
    verdict: Verdict
    metrics: dict[str, float] = {}
    """Final metrics, TRL-style names (``env/reward_mean``, ``objective/kl``, ...)."""
    samples: tuple[str, ...] = ()


# --------------------------------------------------------------------------- items
class ItemBase(Frozen):
    """Fields every item has."""

    id: Slug
    title: Text
    topic: Slug
    bloom: Bloom
    points: float = Field(1.0, gt=0)
    prompt: Text
    """Markdown with $LaTeX$ math and jinja2 ``{{ name }}`` for parameters."""
    params: dict[Identifier, ParamSpec] = {}
    derived: dict[Identifier, DerivedParam] = {}
    constraints: tuple[Text, ...] = ()
    """Boolean expressions over the parameters; draws that break one are redrawn."""
    explanation: str = ""
    """Worked solution (private: key and instructor views only)."""
    evidence: EvidenceLink | None = None

    @model_validator(mode="after")
    def _names_unique(self) -> ItemBase:
        clash = set(self.params) & set(self.derived)
        if clash:
            raise ValueError(f"names both drawn and derived: {', '.join(sorted(clash))}")
        return self


class StancePosition(Frozen):
    """One position a stance can take, and the ways students say it."""

    name: Slug
    phrases: tuple[Text, ...] = Field(min_length=1)


class Stance(Frozen):
    """The position an essay must take (e.g. beta too low vs too high)."""

    question: Text
    """What the stance answers, e.g. 'Is beta too high or too low?'"""
    positions: tuple[StancePosition, ...] = Field(min_length=2)
    expected: Slug
    """Name of the correct position."""
    weight: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _expected_is_a_position(self) -> Stance:
        names = [p.name for p in self.positions]
        if self.expected not in names:
            raise ValueError(f"expected {self.expected!r} is not one of {names}")
        if len(set(names)) != len(names):
            raise ValueError("position names must be unique")
        return self


class Concept(Frozen):
    """A concept a complete answer mentions; found by meaning (examples) or by phrase."""

    name: Slug
    description: Text
    phrases: tuple[Text, ...] = ()
    """Keyword cues (case-insensitive)."""
    examples: tuple[Text, ...] = Field(min_length=1)
    """Sentences that express the concept, for matching by meaning."""
    weight: float = Field(1.0, ge=0)


class Rubric(Frozen):
    """How an essay is scored: similarity to the references, stance, concepts."""

    similarity_weight: float = Field(1.0, ge=0)
    stance: Stance | None = None
    concepts: tuple[Concept, ...] = ()

    @model_validator(mode="after")
    def _some_weight(self) -> Rubric:
        total = self.similarity_weight + (self.stance.weight if self.stance else 0.0)
        total += sum(c.weight for c in self.concepts)
        if total <= 0:
            raise ValueError("the rubric's weights add up to zero")
        if len({c.name for c in self.concepts}) != len(self.concepts):
            raise ValueError("concept names must be unique")
        return self


class EssayItem(ItemBase):
    """A free-text answer graded against reference answers and a rubric."""

    kind: Literal["essay"]
    references: tuple[Text, ...] = Field(min_length=1)
    """Model answers (private)."""
    rubric: Rubric
    max_words: int = Field(250, gt=0)


class Option(Frozen):
    """One option of a multiple-choice item."""

    text: Text
    correct: bool = False
    feedback: Text
    """Why this option is right or wrong (shown after grading)."""
    fixed: bool = False
    """Keep this option in place when shuffling (e.g. 'none of the above')."""


class MultipleChoiceItem(ItemBase):
    """Single answer (one correct option) or multiple answer (``multiple: true``)."""

    kind: Literal["multiple_choice"]
    options: tuple[Option, ...] = Field(min_length=2, max_length=10)
    multiple: bool = False
    partial_credit: Literal["all_or_nothing", "right_minus_wrong"] = "all_or_nothing"
    shuffle: bool = True

    @model_validator(mode="after")
    def _options_consistent(self) -> MultipleChoiceItem:
        n_correct = sum(o.correct for o in self.options)
        if not self.multiple and n_correct != 1:
            raise ValueError(
                f"a single-answer item needs exactly 1 correct option, has {n_correct}"
            )
        if self.multiple and n_correct < 1:
            raise ValueError("a multiple-answer item needs at least 1 correct option")
        texts = [o.text.strip().lower() for o in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError("option texts must be unique")
        if not self.multiple and self.partial_credit != "all_or_nothing":
            raise ValueError("partial_credit applies to multiple-answer items only")
        return self


class NumericSpec(_Sigfigs):
    """How a numeric key is computed (an expression over the parameters, calling
    ``questions.ppo_math``) and the tolerance it is graded with (``NumericAnswer``).

    ``rtol`` defaults to 1 %, except with ``sigfigs``, where it defaults to 0 (a 1 %
    margin would swallow the significant-figure one). ``decimals`` and ``sigfigs`` both
    say how the key is shown, so an item gives one or the other.
    """

    expr: Text
    rtol: float = Field(0.01, ge=0, le=1)
    atol: float = Field(0.0, ge=0)
    decimals: int = Field(3, ge=0, le=10)

    _replaces = ("decimals",)

    @model_validator(mode="before")
    @classmethod
    def _no_default_rtol_with_sigfigs(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("sigfigs") is not None:
            return {"rtol": 0.0, **data}
        return data

    @field_validator("decimals")
    @classmethod
    def _decimals_or_sigfigs(cls, decimals: int, info: ValidationInfo) -> int:
        if info.data.get("sigfigs") is not None:  # a default is not validated: given
            raise ValueError(
                "give decimals or sigfigs, not both (with sigfigs the key is shown to "
                "that many significant figures)"
            )
        return decimals


class Misconception(Frozen):
    """A known mistake: the value it gives, and the feedback that names it."""

    name: Slug
    expr: Text
    feedback: Text
    credit: float = Field(0.0, ge=0, le=1)


class NumericItem(ItemBase):
    """A number computed from parameters drawn per student."""

    kind: Literal["numeric"]
    answer: NumericSpec
    misconceptions: tuple[Misconception, ...] = ()


ItemSpec = Annotated[EssayItem | MultipleChoiceItem | NumericItem, Field(discriminator="kind")]


# --------------------------------------------------------------------------- variants
class VariantOption(Frozen):
    """An option as one student sees it (label in display order) with its key data."""

    label: str
    text: str
    correct: bool
    feedback: str
    source_index: int
    """Index of the option in the item spec."""


class Variant(Frozen):
    """One item generated for one student: the single object everything derives from."""

    student_id: StudentId
    item_id: Slug
    kind: Kind
    title: str
    points: float
    seed: int
    params: dict[str, float] = {}
    """Drawn (rounded) and derived parameters; the key is computed from these."""
    display: dict[str, str] = {}
    """The parameters as the student sees them."""
    prompt: str
    """Rendered Markdown with $math$."""
    options: tuple[VariantOption, ...] = ()
    multiple: bool = False
    partial_credit: Literal["all_or_nothing", "right_minus_wrong"] = "all_or_nothing"
    answer: NumericAnswer | None = None
    explanation: str = ""
    exhibit: Exhibit | None = None
    """Evidence shown with the prompt (a figure of the pack, or sample texts)."""

    def choice_score(self, selected: set[str]) -> float:
        """The fraction earned for a set of option labels (the one rule every export uses).

        Single answer and ``all_or_nothing``: 1 for exactly the correct set, else 0.
        ``right_minus_wrong``: each correct option chosen earns 1/C and each wrong one
        costs 1/C (C = number of correct options), floored at 0, as Canvas and Moodle do.
        """
        correct = {o.label for o in self.options if o.correct}
        if self.partial_credit == "all_or_nothing":
            return 1.0 if selected == correct else 0.0
        labels = {o.label for o in self.options}
        right = len(selected & correct)
        wrong = len((selected & labels) - correct)
        return max(0.0, (right - wrong) / len(correct))

    def student_item(self) -> StudentItem:
        """The student-safe view: no key, no feedback, no correct flags."""
        return StudentItem(
            item_id=self.item_id,
            kind=self.kind,
            title=self.title,
            points=self.points,
            prompt=self.prompt,
            options=tuple(StudentOption(label=o.label, text=o.text) for o in self.options),
            multiple=self.multiple,
            exhibit=self.exhibit,
        )

    def key(self) -> float | list[str] | None:
        """The answer: a number, the correct option texts, or None for an essay."""
        if self.kind == "numeric":
            assert self.answer is not None
            return self.answer.value
        if self.kind == "multiple_choice":
            return [o.text for o in self.options if o.correct]
        return None


class StudentOption(Frozen):
    label: str
    text: str


class StudentItem(Frozen):
    """What a student may see of an item."""

    item_id: str
    kind: Kind
    title: str
    points: float
    prompt: str
    options: tuple[StudentOption, ...] = ()
    multiple: bool = False
    exhibit: Exhibit | None = None
    """The figure (a file of ``students/figures/``) or samples shown with the prompt."""


class Student(Frozen):
    student_id: StudentId
    name: Text
    email: str


class StudentPaper(Frozen):
    student_id: str
    name: str
    items: tuple[StudentItem, ...]


class StudentQuiz(Frozen):
    """``quiz.json``: the machine-readable student view of a whole quiz (no key)."""

    format: Literal["alignquiz/student-quiz@1"] = "alignquiz/student-quiz@1"
    quiz_id: str
    title: str
    papers: tuple[StudentPaper, ...]


class Quiz(Frozen):
    """A generated quiz with its key: ``private/quiz.json``."""

    format: Literal["alignquiz/quiz@1"] = "alignquiz/quiz@1"
    quiz_id: str
    title: str
    seed: int
    item_ids: tuple[str, ...]
    students: tuple[Student, ...]
    variants: dict[str, tuple[Variant, ...]]
    """Per student id, in ``item_ids`` order."""
    items: dict[str, ItemSpec]
    """The item specs the variants were generated from (needed to grade essays)."""

    def student_view(self) -> StudentQuiz:
        return StudentQuiz(
            quiz_id=self.quiz_id,
            title=self.title,
            papers=tuple(
                StudentPaper(
                    student_id=s.student_id,
                    name=s.name,
                    items=tuple(v.student_item() for v in self.variants[s.student_id]),
                )
                for s in self.students
            ),
        )
