"""Measures of generated text: repetition and diversity.

``repeat_rate`` is per response (how much a response repeats itself); ``distinct_2`` is
over a batch (Li et al. 2016: distinct bigrams over all bigrams).

>>> round(repeat_rate("good good good good".split()), 3)
0.667
>>> distinct_2([["the", "dog", "."], ["the", "dog", "runs"]])
0.75
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["distinct_2", "repeat_rate"]


def _bigrams(words: Sequence[str]) -> list[tuple[str, str]]:
    return list(zip(words[:-1], words[1:], strict=True))


def repeat_rate(words: Sequence[str]) -> float:
    """Fraction of the response's bigrams that already occurred earlier in it.

    >>> repeat_rate("the dog sees the cat .".split())
    0.0
    >>> repeat_rate(["a"])
    0.0
    """
    seen: set[tuple[str, str]] = set()
    repeats = 0
    bigrams = _bigrams(words)
    for bigram in bigrams:
        repeats += bigram in seen
        seen.add(bigram)
    return repeats / len(bigrams) if bigrams else 0.0


def distinct_2(responses: Sequence[Sequence[str]]) -> float:
    """Distinct bigrams over all bigrams, across a batch of responses.

    >>> distinct_2([["a"]])
    0.0
    """
    bigrams = [b for words in responses for b in _bigrams(words)]
    return len(set(bigrams)) / len(bigrams) if bigrams else 0.0
