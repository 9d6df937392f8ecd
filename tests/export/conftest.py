"""Fixtures of the export tests: the official schemas and quizzes, each built once.

The schemas are read from ``../shared/schemas`` beside the repository (as CI has it),
never copied into the repo.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from lxml import etree

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
CREATED = datetime.date(2026, 9, 1)


def _schema(relative: str) -> etree.XMLSchema:
    path = SCHEMAS / relative
    assert path.is_file(), f"missing schema {path} (../shared/schemas beside the repo)"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="session")
def qti12_schema() -> etree.XMLSchema:
    """IMS QTI 1.2 ASI (the full schema Canvas's assessments validate against)."""
    return _schema("qti_v1p2/domainProfile_4/ims_qtiasiv1p2.xsd")


@pytest.fixture(scope="session")
def qti21_schema() -> etree.XMLSchema:
    """IMS QTI 2.1 items and tests (with MathML 2), through the offline entry file."""
    return _schema("qti_v2p1/entry.xsd")


@pytest.fixture(scope="session")
def imscp_schema() -> etree.XMLSchema:
    """IMS Content Packaging 1.1.4 with IMS MD 1.2 metadata."""
    return _schema("imscp_v1p1/imscp_v1p1.xsd")


@pytest.fixture(scope="session")
def bank_quiz(tmp_path_factory):
    """The whole built-in bank for the sample roster, through a real quiz folder."""
    from importlib.resources import files

    from questions.cli import build_quiz
    from questions.quizdir import read_quiz

    roster = files("questions") / "data" / "sample_roster.csv"
    out = tmp_path_factory.mktemp("bank") / "quiz"
    build_quiz(str(roster), 7, out, None, (), "RLHF: PPO / KL & <exports>", False)
    return read_quiz(out)


@pytest.fixture(scope="session")
def bank_exports(bank_quiz):
    """Every format of the whole-bank quiz: {name: (bytes, notes)}."""
    from questions.export import FORMATS, export

    out = {}
    for name in FORMATS:
        notes: list[str] = []
        out[name] = (export(bank_quiz, name, CREATED, notes), notes)
    return out


@pytest.fixture(scope="session")
def many_seed_quizzes(builtin_bank):
    """The numeric items for 40 students under 3 seeds: 120 draws per item per seed set."""
    from questions.generate import CompiledItem, generate_quiz
    from questions.models import NumericItem
    from questions.variants import Student

    specs = [b.spec for b in builtin_bank.items.values() if isinstance(b.spec, NumericItem)]
    compiled = {s.id: CompiledItem.build(s) for s in specs}
    students = [
        Student(student_id=f"p{i:03d}", name=f"Student {i}", email=f"p{i}@example.edu")
        for i in range(40)
    ]
    return [generate_quiz(specs, students, seed, "Parity", compiled) for seed in (1, 2, 3)]
