"""The grader's errors, under the project's one base ``AssessmentError``.

::

    AssessmentError (questions.errors)
    └── GraderError              the grader was asked something it cannot do
        ├── AnswersError         an answers file is malformed (file:line: message)
        ├── GradingError         a format error or an answer of the wrong kind was graded
        ├── ModelError           the embedding model is missing, altered or unloadable
        └── ReportError          the report cannot be drawn (matplotlib is missing)
"""

from __future__ import annotations

from questions.errors import AssessmentError

__all__ = ["AnswersError", "GraderError", "GradingError", "ModelError", "ReportError"]


class GraderError(AssessmentError):
    """Base of the grader's errors."""


class AnswersError(GraderError):
    """An answers file (JSON lines) is malformed or names what does not exist."""


class GradingError(GraderError):
    """An answer could not be graded (a format error blocks grading; a wrong kind)."""


class ModelError(GraderError):
    """The embedding model's files are missing, do not match their checksum, or fail."""


class ReportError(GraderError):
    """The report cannot be written (its plotting library is not installed)."""
