"""Read SemEval-2013 Task 7 (3-way) from its zip, as the benchmark and the trainer need it.

The zip (``../shared/benchmarks/semeval2013/semeval-3way.zip``, CC BY-SA 3.0) holds one
XML file per question: the question text, reference answers and labelled student answers.
Training questions come from ``training/3way/<dataset>/``; test splits from
``test/3way/<dataset>/test-<split>/``. Nothing here is copied into the repository.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

LABELS = ("correct", "contradictory", "incorrect")


@dataclass(frozen=True)
class Answer:
    text: str
    label: str  # one of LABELS
    match: str | None  # Beetle: the id of the reference the annotators matched


@dataclass(frozen=True)
class Question:
    dataset: str  # beetle | sciEntsBank
    qid: str
    text: str
    references: tuple[str, ...]
    reference_ids: tuple[str, ...]
    answers: tuple[Answer, ...]


def _question(dataset: str, data: bytes) -> Question:
    root = ET.parse(io.BytesIO(data)).getroot()
    refs = [r for r in root.iter("referenceAnswer") if (r.text or "").strip()]
    answers = tuple(
        Answer((a.text or "").strip(), a.get("accuracy", ""), a.get("answerMatch"))
        for a in root.iter("studentAnswer")
    )
    return Question(
        dataset,
        root.get("id", ""),
        (root.findtext("questionText") or "").strip(),
        tuple((r.text or "").strip() for r in refs),
        tuple(r.get("id", "") for r in refs),
        answers,
    )


def read(zip_path: Path, part: str) -> dict[str, list[Question]]:
    """Questions by split: ``part`` is ``training`` (keys ``beetle``, ``sciEntsBank``) or
    ``test`` (keys like ``beetle unseen-answers``)."""
    out: dict[str, list[Question]] = {}
    pattern = (
        r"training/3way/(\w+)/[^/]+\.xml$" if part == "training"
        else r"test/3way/(\w+)/test-([\w-]+)/[^/]+\.xml$"
    )  # fmt: skip
    with zipfile.ZipFile(zip_path) as zf:
        for name in sorted(zf.namelist()):
            m = re.match(pattern, name)
            if not m:
                continue
            key = m.group(1) if part == "training" else f"{m.group(1)} {m.group(2)}"
            out.setdefault(key, []).append(_question(m.group(1), zf.read(name)))
    return out
