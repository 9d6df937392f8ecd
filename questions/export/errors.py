"""Errors of the LMS exports (all derive from ``AssessmentError``).

::

    AssessmentError
    └── ExportError              a quiz cannot be written in the format asked for
        └── Unexpressible        a formula or rule has no equivalent in the LMS's syntax
                                 (the exporter falls back, and says so in its notes)
"""

from __future__ import annotations

from questions.errors import AssessmentError

__all__ = ["ExportError", "Unexpressible"]


class ExportError(AssessmentError):
    """A quiz cannot be written in the format asked for."""


class Unexpressible(ExportError):
    """An answer rule has no equivalent in an LMS's syntax; the caller falls back."""
