"""Fixtures of the instructor-side tests: a small real quiz in a real gradebook (a SQLite
file and a PostgreSQL schema: ``db_url`` of the gradebook tests), and the demo's whole
loop (real model, real gradebook, real report), run once."""

from __future__ import annotations

import pytest

ITEMS = ("clip-positive-advantage", "clip-min-purpose", "beta-diagnosis-essay")
"""A numeric item with the unclipped misconception, a multiple choice and an essay."""

GOOD_ESSAY = (
    "Beta is too low. The KL penalty should hold the policy near the frozen SFT model, which "
    "writes fluent and varied text. With too weak a penalty the policy exploits flaws of the "
    "reward model, the reward climbs while quality falls, and the outputs turn repetitive "
    "and finally degenerate."
)


@pytest.fixture(scope="session")
def tiny_quiz(builtin_bank):
    """Four students, the three items of :data:`ITEMS`."""
    from questions.generate import generate_quiz
    from questions.variants import Student

    students = [Student(student_id=f"s{i:03d}", name=f"Student <{i}>",
                        email=f"s{i}@example.edu") for i in range(1, 5)]  # fmt: skip
    return generate_quiz([builtin_bank.get(i) for i in ITEMS], students, seed=11, title="tiny")


@pytest.fixture
def tiny_book(db_url, tiny_quiz):
    """A fresh gradebook holding :func:`tiny_quiz`, on SQLite and on PostgreSQL."""
    from grader.store import Gradebook

    with Gradebook(db_url).init() as book:
        book.import_quiz(tiny_quiz)
        yield book


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, embedder):
    """The demo's whole loop, run once into a temporary folder."""
    from grader.demo import run_demo

    lines: list[str] = []
    run = run_demo(tmp_path_factory.mktemp("demo") / "out", 2026, echo=lines.append, quiet=True)
    return run, lines
