"""Fixtures of the LMS round-trip tests: one real quiz folder and its two LMS exports,
the real embedding model (once per session), and a CLI runner with exit codes."""

from __future__ import annotations

import datetime
from importlib.resources import files

import pytest

ITEMS = [
    "clip-positive-advantage",  # Canvas formula question, Moodle calculated
    "kl-penalty-token",  # Canvas group of 12, Moodle calculated
    "ratio-derivative-negative-advantage",  # Canvas group, Moodle random of a category
    "adaptive-kl-direction",  # single answer
    "reward-hacking-signals",  # multiple answer, right minus wrong
    "kl-objective-essay",  # essay: the real model grades it
]
TITLE = 'RLHF quiz 3: PPO, "KL" & <clip>'
CREATED = datetime.date(2026, 11, 1)


@pytest.fixture(scope="session")
def quiz_dir(tmp_path_factory):
    """A quiz folder generated for the sample roster (12 students)."""
    from questions.cli import build_quiz

    roster = files("questions") / "data" / "sample_roster.csv"
    out = tmp_path_factory.mktemp("lms") / "quiz"
    return build_quiz(str(roster), 11, out, ITEMS, (), TITLE, False)


@pytest.fixture(scope="session")
def quiz(quiz_dir):
    from questions.quizdir import read_quiz

    return read_quiz(quiz_dir)


@pytest.fixture(scope="session")
def exports(quiz):
    """What the instructor imported: {"canvas": QTI 1.2 zip, "moodle": Moodle XML}."""
    from questions.export import export

    return {"canvas": export(quiz, "qti12", CREATED), "moodle": export(quiz, "moodle", CREATED)}


@pytest.fixture
def cli():
    """Run ``alignquiz ARGS``; returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from alignquiz.cli import root

    def run(*args: str) -> tuple[int, str, str]:
        done = CliRunner().invoke(root, [str(a) for a in args])
        if done.exception and not isinstance(done.exception, SystemExit):
            raise done.exception
        return done.exit_code, done.stdout, done.stderr

    return run
