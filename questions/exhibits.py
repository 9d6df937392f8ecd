"""Evidence that students see: figures and sample texts from the shipped evidence packs.

A pack is a folder ``questions/evidence/<sweep>/`` made from a real simulator sweep by
``bench/make_evidence_pack.py``: the sweep's ``summary.json`` (what claims are checked
against), compact run histories, ``samples.json`` and small PNG figures. An item whose
``evidence.show`` is ``plot`` or ``samples`` gets an ``Exhibit`` on every variant: the
figure *by file name* (its bytes are read once per quiz, never copied into variants) or
the sample texts, with the item's caption.

Nothing here draws: figures are pre-made files, and generation only reads bytes.
(The folder ``questions/evidence/`` holds data only, no ``__init__.py``, so the module
``questions.evidence``, which checks claims, is what ``import`` finds.)

>>> from questions.models import EvidenceLink
>>> link = EvidenceLink(sweep="beta-sweep", show="plot", figure="run-a.png", caption="c")
>>> ex = load_exhibit(link)
>>> ex.figure, figure_bytes(ex)[:4]
('run-a.png', b'\\x89PNG')
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable
from pathlib import Path

from questions.errors import BankError
from questions.models import EvidenceLink, Exhibit, SampleGroup
from questions.variants import Variant

__all__ = ["PACKS", "data_uri", "figure_bytes", "figure_files", "load_exhibit", "pack_dir"]

PACKS = Path(__file__).parent / "evidence"
"""The shipped evidence packs, one folder per sweep."""


def pack_dir(sweep: str) -> Path:
    """The shipped pack of a sweep (``questions/evidence/<sweep>``)."""
    return PACKS / sweep


@functools.cache
def _samples(sweep: str) -> dict[str, tuple[SampleGroup, ...]]:
    path = pack_dir(sweep) / "samples.json"
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: tuple(SampleGroup.model_validate(g) for g in groups)
            for name, groups in raw.items()}  # fmt: skip


def load_exhibit(link: EvidenceLink | None) -> Exhibit | None:
    """What the item shows students, or None (``show: none``); a figure or sample set
    missing from the pack is a ``BankError``."""
    if link is None or link.show == "none":
        return None
    if link.show == "plot":
        assert link.figure is not None
        path = pack_dir(link.sweep) / link.figure
        if not path.is_file():
            raise BankError(f"evidence figure {link.figure!r} is not in the pack {link.sweep!r}"
                            " (run bench/make_evidence_pack.py)")  # fmt: skip
        return Exhibit(sweep=link.sweep, figure=link.figure, caption=link.caption)
    assert link.samples is not None
    groups = _samples(link.sweep).get(link.samples)
    if groups is None:
        raise BankError(f"sample set {link.samples!r} is not in the pack {link.sweep!r}")
    return Exhibit(sweep=link.sweep, samples=groups, caption=link.caption)


def figure_bytes(exhibit: Exhibit) -> bytes:
    """The PNG of an exhibit's figure."""
    assert exhibit.figure is not None
    return (pack_dir(exhibit.sweep) / exhibit.figure).read_bytes()


def figure_files(variants: Iterable[Variant]) -> dict[str, bytes]:
    """``{file name: PNG bytes}`` of every figure the variants show, each read once.
    Two packs with a figure of the same name are refused (they would share one file)."""
    seen: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for v in variants:
        ex = v.exhibit
        if ex is None or ex.figure is None:
            continue
        sweep = seen.setdefault(ex.figure, ex.sweep)
        if sweep != ex.sweep:
            raise BankError(f"figure {ex.figure!r} is in two packs ({sweep!r}, {ex.sweep!r})")
        if ex.figure not in files:
            files[ex.figure] = figure_bytes(ex)
    return files


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI (self-contained HTML; encode once, reuse the string).

    >>> data_uri(b"\\x89PNG")
    'data:image/png;base64,iVBORw=='
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
