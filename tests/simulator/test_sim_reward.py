"""Proxy and gold rewards, and the text measures: the proxy's maximiser is degenerate."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from simulator.grammar import POSITIVE, WORDS, sample_sentences
from simulator.reward import gold_score, proxy_reward
from simulator.textstats import distinct_2, repeat_rate


def _fluent_responses(n: int, length: int, seed: int) -> list[list[str]]:
    words = [w for s in sample_sentences(n * length, seed) for w in s]
    out, i = [], 0
    while len(out) < n:  # responses start at a sentence start, like the policy's
        out.append(words[i : i + length])
        i = words.index(".", i + length) + 1
    return out


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=16))
def test_proxy_is_maximised_by_positive_words_alone(words: list[str]) -> None:
    degenerate = [POSITIVE[0]] * len(words)
    assert proxy_reward(words) <= proxy_reward(degenerate) == len(words)


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=16))
def test_gold_never_exceeds_proxy(words: list[str]) -> None:
    assert gold_score(words) <= proxy_reward(words)


def test_hacking_raises_proxy_and_sinks_gold() -> None:
    fluent = _fluent_responses(200, 16, seed=0)
    hacked = [list(POSITIVE) * 2 for _ in range(200)]
    assert statistics.fmean(map(proxy_reward, hacked)) > 10 * statistics.fmean(
        map(proxy_reward, fluent)
    )
    assert statistics.fmean(map(gold_score, hacked)) == -16.0
    assert statistics.fmean(map(gold_score, fluent)) > -2.0


def test_repetition_measures_separate_fluent_from_degenerate() -> None:
    fluent = _fluent_responses(64, 16, seed=1)
    assert statistics.fmean(map(repeat_rate, fluent)) < 0.1
    assert distinct_2(fluent) > 0.3
    stuck = [["good", "happy"] * 8 for _ in range(10)]
    assert statistics.fmean(map(repeat_rate, stuck)) > 0.8
    assert distinct_2(stuck) < 0.02
