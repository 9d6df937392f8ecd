"""A toy English grammar with an exact fluency check.

The language is regular, so one small automaton both *generates* it (each state picks
its next word category with a fixed probability, then a word uniformly) and *parses* it
(a token is grammatical when the automaton can take it). As production rules::

    S   -> NP VP "."
    NP  -> DET N | DET ADJ N                      (1/2 each)
    VP  -> VT NP [PP] | VI [PP] | "is" ADJ        (1/2, 1/4, 1/4; PP with prob 0.3)
    PP  -> PREP NP

Adjectives carry a sentiment (positive, negative, neutral), which the rewards read.
Sentences are at most 12 tokens long and no adjective may follow another, so repeating
a positive word is never grammatical: that is the flaw a proxy reward lets a policy find.

>>> words = "the happy dog sees a cat . the cat cat sleeps .".split()
>>> parse(words).flags
(True, True, True, True, True, True, True, True, True, False, False, False)
>>> grammatical_frac(words)
0.75
>>> parse(words).sentences
(('the', 'happy', 'dog', 'sees', 'a', 'cat', '.'),)
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "NEGATIVE",
    "NEUTRAL",
    "POSITIVE",
    "START",
    "TRANSITIONS",
    "WORDS",
    "Parse",
    "category_of",
    "grammar_fingerprint",
    "grammatical_frac",
    "parse",
    "sample_sentence",
    "sample_sentences",
]

POSITIVE = ("good", "happy", "kind", "lovely", "bright", "great", "nice", "warm")
"""Adjectives of positive sentiment: the proxy reward counts these."""
NEGATIVE = ("bad", "sad", "cruel", "dull", "cold", "grim", "rude", "dark")
"""Adjectives of negative sentiment."""
NEUTRAL = ("big", "small", "red", "tall", "quiet", "round", "new", "green")
"""Adjectives of neutral sentiment."""

CATEGORIES: dict[str, tuple[str, ...]] = {
    "DET": ("the", "a", "my", "this"),
    "ADJ": POSITIVE + NEGATIVE + NEUTRAL,
    "N": (
        "dog",
        "cat",
        "bird",
        "child",
        "man",
        "woman",
        "garden",
        "house",
        "river",
        "car",
        "tree",
        "city",
    ),
    "VT": ("sees", "likes", "finds", "helps", "follows", "paints", "meets"),
    "VI": ("sleeps", "runs", "sings", "waits"),
    "IS": ("is",),
    "PREP": ("near", "in", "under", "behind"),
    "DOT": (".",),
}
"""The words of each category; every word belongs to exactly one."""

WORDS: tuple[str, ...] = tuple(w for words in CATEGORIES.values() for w in words)
"""Every word of the language, in a fixed order (the tokenizer's order)."""

START = "start"
"""The automaton's state at the beginning of every sentence."""

TRANSITIONS: dict[str, tuple[tuple[str, str, float], ...]] = {
    # state:      (category, next state, probability) ...
    START:        (("DET", "subj_det", 1.0),),
    "subj_det":   (("ADJ", "subj_adj", 0.5), ("N", "subj_n", 0.5)),
    "subj_adj":   (("N", "subj_n", 1.0),),
    "subj_n":     (("VT", "verb_t", 0.5), ("VI", "vp_done", 0.25), ("IS", "copula", 0.25)),
    "verb_t":     (("DET", "obj_det", 1.0),),
    "obj_det":    (("ADJ", "obj_adj", 0.5), ("N", "vp_done", 0.5)),
    "obj_adj":    (("N", "vp_done", 1.0),),
    "vp_done":    (("DOT", START, 0.7), ("PREP", "pp_prep", 0.3)),
    "copula":     (("ADJ", "copula_adj", 1.0),),
    "copula_adj": (("DOT", START, 1.0),),
    "pp_prep":    (("DET", "pp_det", 1.0),),
    "pp_det":     (("ADJ", "pp_adj", 0.5), ("N", "pp_n", 0.5)),
    "pp_adj":     (("N", "pp_n", 1.0),),
    "pp_n":       (("DOT", START, 1.0),),
}  # fmt: skip
"""The automaton: from each state, the categories it accepts and their probabilities."""

_CATEGORY_OF = {w: c for c, words in CATEGORIES.items() for w in words}
_STEP = {(s, c): nxt for s, arcs in TRANSITIONS.items() for c, nxt, _ in arcs}


def category_of(word: str) -> str | None:
    """The category of ``word``, or None when it is not in the language.

    >>> category_of("happy"), category_of("<bos>")
    ('ADJ', None)
    """
    return _CATEGORY_OF.get(word)


def sample_sentence(rng: random.Random) -> list[str]:
    """One sentence drawn from the grammar, ending with ``"."``.

    >>> s = sample_sentence(random.Random(0))
    >>> s[-1], parse(s).flags == (True,) * len(s)
    ('.', True)
    """
    state, words = START, []
    while True:
        arcs = TRANSITIONS[state]
        category, state, _ = rng.choices(arcs, weights=[p for _, _, p in arcs])[0]
        words.append(rng.choice(CATEGORIES[category]))
        if category == "DOT":
            return words


def sample_sentences(n: int, seed: int) -> list[list[str]]:
    """``n`` sentences drawn with an explicit seed.

    >>> sample_sentences(2, seed=1) == sample_sentences(2, seed=1)
    True
    """
    rng = random.Random(seed)
    return [sample_sentence(rng) for _ in range(n)]


@dataclass(frozen=True)
class Parse:
    """The automaton's reading of a token stream."""

    flags: tuple[bool, ...]
    """One flag per token: whether the grammar accepts it where it stands."""
    sentences: tuple[tuple[str, ...], ...]
    """The complete sentences (ending in ``"."``) that are grammatical throughout."""

    @property
    def n_ungrammatical(self) -> int:
        """How many tokens the grammar rejects."""
        return sum(not f for f in self.flags)


def parse(words: Sequence[str]) -> Parse:
    """Read ``words`` sentence by sentence with the prefix automaton.

    A token is grammatical when the automaton accepts it after the sentence so far. After
    a rejected token the sentence is broken: every token up to and including the next
    ``"."`` is ungrammatical, then a new sentence starts. An unfinished last sentence
    (cut off by the length limit) counts as grammatical as far as it goes, but only
    complete sentences are listed in ``sentences``.

    >>> parse("good good good".split()).flags
    (False, False, False)
    >>> parse("the dog is".split())
    Parse(flags=(True, True, True), sentences=())
    """
    flags: list[bool] = []
    sentences: list[tuple[str, ...]] = []
    state: str | None = START  # None: the current sentence is broken
    current: list[str] = []
    for word in words:
        current.append(word)
        category = _CATEGORY_OF.get(word)
        nxt = None if state is None else _STEP.get((state, category))  # type: ignore[arg-type]
        flags.append(nxt is not None)
        if nxt is not None and category == "DOT":
            sentences.append(tuple(current))
        if category == "DOT":  # a sentence ends, grammatical or not
            state, current = START, []
        else:
            state = nxt
    return Parse(tuple(flags), tuple(sentences))


def grammatical_frac(words: Sequence[str]) -> float:
    """The fraction of tokens the grammar accepts (1.0 for no tokens).

    >>> grammatical_frac("the dog sleeps . dog".split())
    0.8
    """
    flags = parse(words).flags
    return sum(flags) / len(flags) if flags else 1.0


def grammar_fingerprint() -> str:
    """A hash of the whole grammar (words, automaton, probabilities), for cache keys.

    >>> len(grammar_fingerprint())
    16
    """
    text = repr((sorted(CATEGORIES.items()), sorted(TRANSITIONS.items())))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
