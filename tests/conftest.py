"""Shared fixtures: the built-in bank (loaded once) and small roster/bank writers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def course_secret_file(tmp_path_factory):
    """Tests never touch the user's real course secret (subprocesses inherit this)."""
    import os

    path = tmp_path_factory.mktemp("config") / "secret"
    os.environ["ALIGNQUIZ_SECRET_FILE"] = str(path)
    return path


@pytest.fixture(scope="session")
def builtin_bank():
    from questions.bank import load_bank

    return load_bank()


@pytest.fixture
def roster(tmp_path: Path):
    """Write a roster CSV (given as text) and return its path."""

    def make(text: str, name: str = "roster.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def run_cli():
    """Run the real console entry point in a subprocess; returns CompletedProcess."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "alignquiz", *args],
            capture_output=True, text=True, cwd=cwd, timeout=300,
        )  # fmt: skip

    return run
