"""Golden files: a small fixed quiz (3 items, 2 students, seed 1) in every format.

The quiz comes from ``data/golden-bank.yaml`` (not the built-in bank, which others
edit). Packages are compared member by member. After an intended change, regenerate
with ``ALIGNQUIZ_UPDATE_GOLDEN=1 pytest tests/export/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from questions.export import FORMATS, export
from tests.export.conftest import CREATED
from tests.export.helpers import members

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("ALIGNQUIZ_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def golden_quiz(tmp_path_factory):
    from questions.cli import build_quiz
    from questions.quizdir import read_quiz

    out = tmp_path_factory.mktemp("golden") / "quiz"
    bank = str(HERE / "data" / "golden-bank.yaml")
    build_quiz(str(HERE / "data" / "golden-roster.csv"), 1, out, None, (bank,), "Golden quiz",
               False)  # fmt: skip
    return read_quiz(out)


def _as_files(fmt: str, data: bytes, notes: list[str]) -> dict[str, bytes]:
    files = {f"{fmt}/notes.txt": "".join(f"{n}\n" for n in notes).encode()}
    if FORMATS[fmt].suffix == ".zip":
        files |= {f"{fmt}/{name}": body for name, body in members(data).items()}
    else:
        files[f"{fmt}/quiz{FORMATS[fmt].suffix}"] = data
    return files


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_matches_the_golden_files(fmt, golden_quiz):
    notes: list[str] = []
    files = _as_files(fmt, export(golden_quiz, fmt, CREATED, notes), notes)
    folder = GOLDEN / fmt
    if UPDATE:
        for old in sorted(folder.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
        for name, body in files.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(body)
    expected = {
        p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert sorted(files) == sorted(expected), "files differ; ALIGNQUIZ_UPDATE_GOLDEN=1 to accept"
    for name, body in files.items():
        assert body == expected[name], f"{name} differs; ALIGNQUIZ_UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exporting_twice_gives_the_same_bytes(fmt, golden_quiz, bank_quiz, bank_exports):
    assert export(golden_quiz, fmt, CREATED) == export(golden_quiz, fmt, CREATED)
    assert export(bank_quiz, fmt, CREATED) == bank_exports[fmt][0]


def test_the_date_is_the_only_thing_a_new_date_changes(golden_quiz):
    import datetime

    later = datetime.date(2027, 1, 31)
    for fmt in FORMATS:
        a, b = export(golden_quiz, fmt, CREATED), export(golden_quiz, fmt, later)
        assert a != b
        if FORMATS[fmt].suffix != ".zip":
            old, new = CREATED.isoformat().encode(), later.isoformat().encode()
            assert a.replace(old, new) == b


def test_golden_quiz_uses_the_formula_types(golden_quiz):
    import io

    from lxml import etree

    moodle = etree.fromstring(export(golden_quiz, "moodle", CREATED))
    assert [q.get("type") for q in moodle.iter("question")] == [
        "category", "calculated", "multichoice", "essay", "multichoice"
    ]  # fmt: skip
    canvas = members(export(golden_quiz, "qti12", CREATED))
    (name,) = [n for n in canvas if n.count("/") == 1 and "meta" not in n]
    assert b"<answer_tolerance>1%</answer_tolerance>" in canvas[name]
    assert io.BytesIO(canvas[name]).read().count(b"<var_set ") == 2
