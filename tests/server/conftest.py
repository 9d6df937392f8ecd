"""Fixtures of the server tests: a real quiz folder, a real gradebook on each backend, the real
app in-process (FastAPI's TestClient) and the real app under uvicorn on a loopback port.

The quiz has one item of each kind that matters (numeric, single and multiple choice,
essay) for three students; its tokens are in ``private/tokens.csv``, as ``quiz
generate`` writes them, and ``create_app(db, quiz_dir=...)`` imports both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.server_helpers import TOKENS, running

ITEMS = ["kl-penalty-token", "clip-min-purpose", "ratio-token-facts", "goodhart-essay"]
ROSTER = "student_id,name,email\n" + "".join(
    f"s00{i},Student {i},s{i}@example.edu\n" for i in range(1, 4)
)


@pytest.fixture(scope="session")
def quiz_dir(tmp_path_factory) -> Path:
    from questions.cli import build_quiz

    root = tmp_path_factory.mktemp("serverquiz")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    folder = build_quiz(str(root / "roster.csv"), 11, str(root / "quiz"), ITEMS, (),
                        "server test", force=False)  # fmt: skip
    rows = "".join(f"{sid},{tok}\n" for sid, tok in TOKENS.items())
    (folder / "private" / "tokens.csv").write_text("student_id,token\n" + rows, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def quiz(quiz_dir):
    """The whole quiz, with keys (the tests' answer sheet)."""
    from questions.quizdir import read_quiz

    return read_quiz(quiz_dir)


@pytest.fixture
def good_answers(quiz):
    """``answers(student_id)``: a full-marks answer to every exact item."""

    def make(student_id: str = "s001", essay: bool = True) -> dict[str, str]:
        out = {}
        for v in quiz.variants[student_id]:
            if v.kind == "numeric":
                out[v.item_id] = v.answer.display()
            elif v.kind == "multiple_choice":
                out[v.item_id] = ", ".join(o.label for o in v.options if o.correct)
            elif essay:
                out[v.item_id] = (
                    "Optimising the proxy reward too hard makes it stop tracking the gold "
                    "reward: the policy exploits the reward model, so the KL penalty keeps "
                    "it close to the reference."
                )
        return out

    return make


@pytest.fixture
def db(db_url, quiz_dir) -> str:
    """A fresh gradebook (a SQLite file, then a PostgreSQL schema: the same tests run on
    both) with the quiz and its tokens imported."""
    from grader.submissions import open_service

    open_service(db_url, str(quiz_dir), "off").close()
    return db_url


@pytest.fixture
def book(db):
    from grader.store import Gradebook

    with Gradebook(db).open() as opened:
        yield opened


@pytest.fixture
def api(db):
    """The real app in-process (essays left pending), as a TestClient."""
    from fastapi.testclient import TestClient

    from grader.server import create_app

    with TestClient(create_app(db, essays="off")) as client:
        yield client


@pytest.fixture
def live(db) -> Iterator[str]:
    """The real app under uvicorn on loopback (essays left pending); its base URL."""
    from grader.server import create_app

    with running(create_app(db, essays="off")) as url:
        yield url
