"""The real embedding model, loaded once per test session (as sentence-transformers'
own tests do), and the grader built on it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def embedder():
    from grader.embedding import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def essay_grader(embedder):
    from grader.essay import EssayGrader

    return EssayGrader(embedder)
