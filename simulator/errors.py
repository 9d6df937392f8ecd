"""The simulator's errors, all under the project's one base.

::

    AssessmentError (questions.errors)   caught once at the CLI edge: one line, exit 2
    └── SimulatorError                   a bad simulator config or a failed run
        └── ModelCacheError              the cached reference model is missing or corrupt
"""

from __future__ import annotations

from questions.errors import AssessmentError

__all__ = ["ModelCacheError", "SimulatorError"]


class SimulatorError(AssessmentError):
    """A simulator config is invalid, or a run could not be done."""


class ModelCacheError(SimulatorError):
    """The cached reference model is missing, unreadable or corrupt."""
