"""The toy grammar: what it generates it accepts, and it rejects what it should."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questions.errors import AssessmentError
from simulator.errors import SimulatorError
from simulator.grammar import (
    CATEGORIES,
    POSITIVE,
    TRANSITIONS,
    WORDS,
    grammar_fingerprint,
    grammatical_frac,
    parse,
    sample_sentence,
    sample_sentences,
)
from simulator.tokenizer import Tokenizer


@given(st.integers(min_value=0, max_value=2**32))
def test_every_sampled_text_is_grammatical(seed: int) -> None:
    words = [w for s in sample_sentences(5, seed) for w in s]
    reading = parse(words)
    assert all(reading.flags)
    assert len(reading.sentences) == 5


def test_probabilities_sum_to_one_and_states_connect() -> None:
    for state, arcs in TRANSITIONS.items():
        assert sum(p for _, _, p in arcs) == pytest.approx(1.0), state
        for category, nxt, _ in arcs:
            assert category in CATEGORIES
            assert nxt in TRANSITIONS


def test_words_belong_to_one_category() -> None:
    assert len(WORDS) == len(set(WORDS))


def test_sentences_are_bounded() -> None:
    lengths = [len(s) for s in sample_sentences(2000, seed=3)]
    assert max(lengths) <= 12
    assert min(lengths) >= 4


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("the dog sleeps .", "1111"),
        ("good good good", "000"),
        ("the good good dog sleeps . a cat runs .", "110000" + "1111"),
        ("the .", "10"),
        ("the dog <bos> sleeps . a", "1100" + "0" + "1"),
        ("the dog is happy . . a", "11111" + "0" + "1"),
    ],
)
def test_parse_flags(text: str, flags: str) -> None:
    assert parse(text.split()).flags == tuple(f == "1" for f in flags)


def test_broken_sentences_are_not_listed() -> None:
    reading = parse("the dog dog . a cat is kind . the".split())
    assert reading.sentences == (("a", "cat", "is", "kind", "."),)


@given(st.lists(st.sampled_from(POSITIVE), min_size=2, max_size=20))
def test_repeated_positive_words_are_never_grammatical(words: list[str]) -> None:
    assert grammatical_frac(words) == 0.0


def test_random_word_salad_is_mostly_ungrammatical() -> None:
    rng = random.Random(0)
    salad = [rng.choice(WORDS) for _ in range(2000)]
    assert grammatical_frac(salad) < 0.3


def test_fingerprint_is_stable() -> None:
    assert grammar_fingerprint() == grammar_fingerprint()


def test_sampling_is_seeded() -> None:
    assert sample_sentence(random.Random(7)) == sample_sentence(random.Random(7))


def test_tokenizer_round_trip() -> None:
    tok = Tokenizer()
    text = "the happy dog sees a cat near my house. a bird sings."
    assert tok.decode(tok.encode(text)) == text
    assert len(set(tok.special_ids)) == 3
    assert all(tok.vocab[i] in POSITIVE for i in tok.positive_ids)


def test_tokenizer_unknown_word_is_an_assessment_error() -> None:
    with pytest.raises(SimulatorError, match="'unicorn' is not in the vocabulary"):
        Tokenizer().encode("the unicorn sleeps")
    assert issubclass(SimulatorError, AssessmentError)
