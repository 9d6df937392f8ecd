"""Pydantic models of what an instructor writes: bank items, parameters, evidence.

``ItemSpec`` is what an instructor writes in YAML (``Essay | MultipleChoice | Numeric``,
discriminated on ``kind``). ``Variant`` is one item generated for one student: the student
view, the key, the LMS export and the grading all derive from it. Every model is frozen
and forbids unknown fields, so a typo in a bank file is an error, never a silent default.

Layout (imports point one way): ``questions.frozen`` (``Frozen``) <- ``questions.tolerance``
(``NumericAnswer``, re-exported here) <- this module (parameters, evidence, items) <-
``questions.variants`` (``Variant``, ``Quiz`` and the student view).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from questions.frozen import Frozen
from questions.tolerance import MAX_SIGFIGS, NumericAnswer, _Sigfigs

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
    "Rubric",
    "SampleGroup",
    "Stance",
    "SweepRecord",
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
    about: tuple[Text, ...] = ()
    """Words that name what the stance is about ("beta", "KL coefficient"); feedback
    calls it by the first."""
    not_about: tuple[Text, ...] = ()
    """Other things an answer may call too high or too low ("learning rate", "epsilon"): a
    position phrase that names nothing of ``about`` itself ("too high") says nothing when
    the nearest thing named before it in its clause is one of these ("The learning rate is
    too high.")."""

    @model_validator(mode="after")
    def _expected_is_a_position(self) -> Stance:
        names = [p.name for p in self.positions]
        if self.expected not in names:
            raise ValueError(f"expected {self.expected!r} is not one of {names}")
        if len(set(names)) != len(names):
            raise ValueError("position names must be unique")
        if self.not_about and not self.about:
            raise ValueError("not_about needs about: the words that name the stance's subject")
        both = {w.lower() for w in self.about} & {w.lower() for w in self.not_about}
        if both:
            raise ValueError(f"both about and not_about: {', '.join(sorted(both))}")
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
