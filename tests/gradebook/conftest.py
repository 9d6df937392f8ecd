"""Fixtures of the gradebook tests: a migrated gradebook on each backend and small quizzes.

``db_url`` (tests/conftest.py) gives every test a fresh SQLite file and a fresh schema on
a real PostgreSQL server, so the same suite runs on both.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def book(db_url: str):
    """A migrated, empty gradebook on each backend."""
    from grader.store import Gradebook

    with Gradebook(db_url).init() as opened:
        yield opened


@pytest.fixture(scope="session")
def small_quiz(builtin_bank):
    """Four students, three items of three kinds, generated from the built-in bank."""
    from questions.generate import generate_quiz
    from questions.variants import Student

    kinds = {}
    for item_id in builtin_bank.ids():
        kinds.setdefault(builtin_bank.get(item_id).kind, item_id)
    specs = [builtin_bank.get(i) for i in sorted(kinds.values())]
    students = [
        Student(student_id=f"s{i:03d}", name=f"Student {i}", email=f"s{i}@example.edu")
        for i in range(1, 5)
    ]
    return generate_quiz(specs, students, seed=7, title="gradebook test")


@pytest.fixture(scope="session")
def other_quiz(builtin_bank, small_quiz):
    """A second quiz sharing students with ``small_quiz`` (different seed)."""
    from questions.generate import generate_quiz

    specs = [small_quiz.items[i] for i in small_quiz.item_ids]
    return generate_quiz(specs, list(small_quiz.students), seed=8, title="retake")
