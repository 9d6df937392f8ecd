"""Every error alignquiz raises on purpose, in one tree.

::

    AssessmentError              caught once at the CLI edge: one line, exit code 2
    ├── BankError                a bank file or item is malformed (file:line: message)
    ├── RosterError              a roster CSV is malformed (file:line: message)
    ├── QuizError                a quiz folder is missing, incomplete or inconsistent
    ├── ExpressionError          a parameter, constraint or answer expression is invalid
    └── GenerationError          parameters could not be drawn (constraints unsatisfiable)

Later packages (grader, simulator) derive their errors from ``AssessmentError`` too.
"""

from __future__ import annotations

__all__ = [
    "AssessmentError",
    "BankError",
    "ExpressionError",
    "GenerationError",
    "QuizError",
    "RosterError",
]


class AssessmentError(Exception):
    """Base of every error alignquiz raises on purpose; its message is one line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.location_message())

    def location_message(self) -> str:
        """``path:line: message``, ``path: message`` or ``message``."""
        where = self.path or ""
        if self.path and self.line is not None:
            where = f"{self.path}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class BankError(AssessmentError):
    """A bank file or one of its items is malformed."""


class RosterError(AssessmentError):
    """A roster CSV is malformed."""


class QuizError(AssessmentError):
    """A quiz folder is missing, incomplete or inconsistent."""


class ExpressionError(AssessmentError):
    """An expression in an item (parameter, constraint, answer) is invalid."""


class GenerationError(AssessmentError):
    """Parameters could not be drawn, e.g. the constraints are never satisfied."""
