"""Generated quizzes: one ``Variant`` per item and student, the student view, the ``Quiz``.

Imports ``questions.models`` (for ``ItemSpec``, ``Exhibit`` and the field types), which
re-exports every model here lazily, so the import chain stays acyclic.
"""

from __future__ import annotations

from typing import Literal

from questions.frozen import Frozen
from questions.models import Exhibit, ItemSpec, Kind, Slug, StudentId, Text
from questions.tolerance import NumericAnswer

__all__ = [
    "Quiz",
    "Student",
    "StudentItem",
    "StudentOption",
    "StudentPaper",
    "StudentQuiz",
    "Variant",
    "VariantOption",
]


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
