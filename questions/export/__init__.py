"""LMS exports of a generated quiz: one module per format, the same call for each.

``export(quiz, created, *, notes=None) -> bytes``: ``created`` is the date written into
the package (passed in, never today's date, so exporting twice gives the same bytes);
``notes``, when given, receives one line per item feature the format could not keep and
what was done instead.

======  ===============================  ======  ==========================================
name    module                           file    imports into
======  ===============================  ======  ==========================================
moodle  ``questions.export.moodle``      .xml    Moodle: Question bank > Import > Moodle XML
gift    ``questions.export.gift``        .gift   Moodle: Question bank > Import > GIFT
qti12   ``questions.export.qti12``       .zip    Canvas: Import course content > QTI .zip
qti21   ``questions.export.qti21``       .zip    any QTI 2.1 player (content package)
======  ===============================  ======  ==========================================

>>> sorted(FORMATS)
['gift', 'moodle', 'qti12', 'qti21']
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from questions.export import gift, moodle, qti12, qti21
from questions.export.errors import ExportError, Unexpressible
from questions.variants import Quiz

__all__ = ["FORMATS", "ExportError", "Format", "Unexpressible", "export"]


@dataclass(frozen=True)
class Format:
    """One export format: its writer and the file suffix it produces."""

    name: str
    write: Callable[..., bytes]
    suffix: str
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("moodle", moodle.export, ".xml", "Moodle XML"),
        Format("gift", gift.export, ".gift", "Moodle GIFT"),
        Format("qti12", qti12.export, ".zip", "QTI 1.2 package for Canvas"),
        Format("qti21", qti21.export, ".zip", "QTI 2.1 content package"),
    )
}


def export(quiz: Quiz, fmt: str, created: datetime.date, notes: list[str] | None = None) -> bytes:
    """Export ``quiz`` in the format named ``fmt`` (a key of ``FORMATS``)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    return FORMATS[fmt].write(quiz, created, notes=notes)
