"""Small readers shared by the export tests (zip members, private texts)."""

from __future__ import annotations

import io
import itertools
import re
import zipfile

from questions.models import EssayItem
from questions.variants import Quiz


def members(data: bytes) -> dict[str, bytes]:
    """The files of a zip, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def private_snippets(quiz: Quiz) -> dict[str, list[str]]:
    """Per item, phrases of its private texts (essay references, worked solutions) that
    survive any HTML conversion: runs of 5 plain words from each sentence."""
    out: dict[str, list[str]] = {}
    for student in quiz.students[:1]:
        for v in quiz.variants[student.student_id]:
            spec = quiz.items[v.item_id]
            texts = [v.explanation]
            if isinstance(spec, EssayItem):
                texts += list(spec.references)
            out[v.item_id] = [s for t in texts for s in _phrases(t)]
    return out


def _phrases(text: str) -> list[str]:
    phrases = []
    for sentence in re.split(r"(?<=[.:;])\s+", text):
        words = sentence.split()
        for window in (words[i : i + 5] for i in range(0, max(len(words) - 4, 0), 5)):
            if all(re.fullmatch(r"[A-Za-z,]+", w) for w in window):
                phrases.append(" ".join(window))
    return phrases


def subsets(labels: list[str]):
    """Every non-empty subset of ``labels``."""
    for n in range(1, len(labels) + 1):
        yield from (set(c) for c in itertools.combinations(labels, n))


def base_title(name: str) -> str:
    """A question's item title without the exporter's "(variant k of K)" suffix."""
    return re.sub(r" \((?:variant )?\d+ of \d+\)$", "", name)
