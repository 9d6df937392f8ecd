"""Text plumbing for essays: sentences, normalised tokens, and phrase matching that
knows about negation, hypotheticals and questions.

A phrase from a rubric (``too low``, ``increase beta``, ``claim is wrong``) matches a
sentence when its tokens appear in order, allowing a few filler words in between
("increase *the KL coefficient* beta", "*way* too low") and light inflection
("increasing", "raised"). Each match says whether it is negated ("beta is *not* too
high", "it isn't too low", "rather than lower beta") and whether it is hypothetical
(inside an ``if``/``whether`` clause, or a question).

>>> [m.phrase for m in find_phrases("Increase the KL coefficient beta.", ["increase beta"])]
['increase beta']
>>> find_phrases("Beta isn't too high.", ["too high"])[0].negated
True
>>> find_phrases("If beta were too high, nothing would move.", ["too high"])[0].hypothetical
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "FUNCTION_WORDS",
    "PhraseMatch",
    "content_stems",
    "find_phrases",
    "hedged",
    "nearest_named",
    "overlap",
    "sentences",
    "stem",
    "tokens",
]

_CONTRACTIONS = [
    (re.compile(r"\bcan't\b|\bcannot\b", re.I), "can not"),
    (re.compile(r"\bwon't\b", re.I), "will not"),
    (re.compile(r"\bain't\b", re.I), "is not"),
    (re.compile(r"n't\b", re.I), " not"),
    (re.compile(r"'s\b", re.I), ""),
]
_ALIASES = {"β": "beta", "kl_coef": "beta", "kl-coef": "beta", "kl_coefficient": "beta"}
_WORD = re.compile(r"[a-z0-9β]+(?:[_-][a-z0-9]+)*|[,;:()?!]|\.(?!\d)", re.I)

FILLER = frozenset(
    "the a an this that its our your very really way far much clearly definitely simply "
    "just somewhat rather quite kl penalty coefficient coef value weight of to is was be "
    "been being are were it".split()
)
"""Words a phrase match may skip between two of its own words."""

NEGATORS = frozenset("not no never nor neither hardly nothing nobody none".split())
_NEGATING_PAIRS = {("rather", "than"), ("instead", "of")}
_HYPOTHETICAL = frozenset({"if", "whether", "unless", "suppose", "supposing"})
_CLAUSE_BREAK = frozenset({",", ";", ":", "(", ")", "but", "however", "although", "though",
                           "whereas", "while", "because", "since", "so"})  # fmt: skip
_HEDGES = frozenset({"or", "either", "maybe", "perhaps", "possibly", "/"})

FUNCTION_WORDS = frozenset(
    "the a an is are was were be been being to of in on at by for with from as that this "
    "these those it its and or but so because if then than which who what when while how "
    "can could will would should may might must does do did not no has have had there "
    "their they we i you he she more less too very into about also only just since why "
    "rather instead".split()
)
"""Words a real sentence has and a list of keywords lacks (the stuffing guard)."""


_BREAK = re.compile(r"(?<=[.!?])([\"')\]]?)\s+(?=[\"'(\[]?[A-Za-z0-9β])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|resp|fig|eq|al|ca)\.|\b[a-z]\.)$",
                           re.I)  # fmt: skip


def sentences(text: str) -> list[str]:
    """Split an answer into sentences (on ``.!?`` before a word, not after an
    abbreviation before a lower-case word, and on line breaks).

    >>> sentences("Beta is too low. The policy drifts (e.g. it repeats). Raise it!")
    ['Beta is too low.', 'The policy drifts (e.g. it repeats).', 'Raise it!']
    >>> sentences("beta is too low. the text repeats, etc. and it drifts.")
    ['beta is too low.', 'the text repeats, etc. and it drifts.']
    >>> sentences("- keeps it close\\n- avoids hacking")
    ['keeps it close', 'avoids hacking']
    """
    out: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        start = 0
        for gap in _BREAK.finditer(line):
            nxt = line[gap.end()]
            if (nxt.islower() or nxt.isdigit()) and (
                gap.group(1) == ")" or _ABBREVIATION.search(line[start : gap.start()])
            ):
                continue  # "e.g. the", "Fig. 3", "(see above.) it"
            out.append(line[start : gap.end(1)].strip())
            start = gap.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def stem(word: str) -> str:
    """A crude, consistent stem: lower case, common inflections stripped.

    >>> [stem(w) for w in ["Increasing", "increased", "increases", "raise", "lower", "low"]]
    ['increas', 'increas', 'increas', 'rais', 'lower', 'low']
    """
    w = word.lower()
    w = _ALIASES.get(w, w)
    for suffix, keep in (("ing", 5), ("ed", 4), ("es", 4), ("s", 3)):
        if w.endswith(suffix) and len(w) > keep and not w.endswith("ss"):
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Normalised tokens: contractions expanded, words stemmed, clause punctuation kept.

    >>> tokens("It isn't too low, raise β!")
    ['it', 'is', 'not', 'too', 'low', ',', 'rais', 'beta', '!']
    """
    return list(_tokens(text))


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    return tuple(stem(t) if t[0].isalnum() or t[0] == "β" else t for t in _WORD.findall(text))


@lru_cache(maxsize=1024)
def _wanted(phrases: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], str], ...]:
    """Phrases as token tuples, longest first (cached: a rubric's phrases are reused)."""
    found = {(_tokens(p), p) for p in phrases if _tokens(p)}
    return tuple(sorted(found, key=lambda x: (-len(x[0]), x[1])))


@dataclass(frozen=True)
class PhraseMatch:
    """One occurrence of a rubric phrase in a sentence."""

    phrase: str
    start: int
    end: int
    """Token span ``[start, end)`` in the sentence's tokens."""
    negated: bool
    hypothetical: bool


def _match_at(toks: Sequence[str], i: int, want: Sequence[str]) -> tuple[int, bool] | None:
    """End of a match of ``want`` starting at token ``i``, and whether a negator was
    skipped inside it ("I do not agree with" for "i agree with")."""
    if toks[i] != want[0]:
        return None
    j, negated_inside = i + 1, False
    for w in want[1:]:
        skipped = 0
        while j < len(toks) and toks[j] != w:
            if toks[j] in NEGATORS or toks[j] in _AUXILIARIES:
                negated_inside = negated_inside or toks[j] in NEGATORS
            elif toks[j] not in FILLER:
                return None
            skipped += 1
            j += 1
            if skipped > 3:
                return None
        if j >= len(toks):
            return None
        j += 1
    return j, negated_inside


def nearest_named(toks: Sequence[str], start: int, phrases: Sequence[str]) -> str | None:
    """Of ``phrases``, the one named closest before token ``start`` within its clause.

    >>> nearest_named(tokens("Beta is fine, but the learning rate is too high."), 9,
    ...               ["beta", "learning rate"])
    'learning rate'
    """
    lo = start
    while lo > 0 and toks[lo - 1] not in _CLAUSE_BREAK:
        lo -= 1
    found = find_phrases(tuple(toks[lo:start]), phrases)
    return max(found, key=lambda m: m.end).phrase if found else None


def _negated_before(toks: Sequence[str], start: int, window: int = 5) -> bool:
    for k in range(start - 1, max(-1, start - 1 - window), -1):
        if toks[k] in _CLAUSE_BREAK:
            return False
        if toks[k] in NEGATORS or (k > 0 and (toks[k - 1], toks[k]) in _NEGATING_PAIRS):
            return True
    return False


def _hypothetical(toks: Sequence[str], start: int) -> bool:
    if "?" in toks[start:]:
        return True  # a question asserts nothing
    for k in range(start - 1, -1, -1):
        if toks[k] in _HYPOTHETICAL:
            return True
        if toks[k] in _CLAUSE_BREAK - {","}:
            return False
    return False


def find_phrases(sentence: str | Sequence[str], phrases: Iterable[str]) -> list[PhraseMatch]:
    """Non-overlapping matches of ``phrases`` in one sentence, longest phrase first.

    >>> [(m.phrase, m.negated) for m in find_phrases(
    ...     "The claim is not correct.", ["claim is correct", "claim is not correct"])]
    [('claim is not correct', False)]
    """
    toks = _tokens(sentence) if isinstance(sentence, str) else tuple(sentence)
    first = {t: i for i, t in reversed(list(enumerate(toks)))}
    wanted = [(w, p) for w, p in _wanted(tuple(phrases)) if w[0] in first]
    taken = [False] * len(toks)
    found: list[PhraseMatch] = []
    for want, phrase in wanted:
        for i in range(len(toks)):
            if taken[i]:
                continue
            hit = _match_at(toks, i, want)
            if hit is None or any(taken[i : hit[0]]):
                continue
            end, negated_inside = hit
            taken[i:end] = [True] * (end - i)
            found.append(
                PhraseMatch(
                    phrase=phrase,
                    start=i,
                    end=end,
                    negated=negated_inside or _negated_before(toks, i),
                    hypothetical=_hypothetical(toks, i),
                )
            )
    return sorted(found, key=lambda m: m.start)


def _stemmed(words: frozenset[str]) -> frozenset[str]:
    return frozenset(stem(w) if w[0].isalnum() else w for w in words)


# Vocabularies are compared with stemmed tokens ("nothing" -> "noth", "this" -> "thi").
FILLER = _stemmed(FILLER)
NEGATORS = _stemmed(NEGATORS)
FUNCTION_WORDS = _stemmed(FUNCTION_WORDS)
_HYPOTHETICAL = _stemmed(_HYPOTHETICAL)
_CLAUSE_BREAK = _stemmed(_CLAUSE_BREAK)
_HEDGES = _stemmed(_HEDGES)
_NEGATING_PAIRS = {(stem(a), stem(b)) for a, b in _NEGATING_PAIRS}
_AUXILIARIES = _stemmed(frozenset({"do", "does", "did"}))


def hedged(sentence_tokens: Sequence[str], a: PhraseMatch, b: PhraseMatch) -> bool:
    """Whether two matches in one sentence are offered as alternatives ("too high or
    too low", "either raise or lower beta").

    >>> t = tokens("Beta is either too high or too low.")
    >>> m = find_phrases(t, ["too high", "too low"])
    >>> hedged(t, m[0], m[1])
    True
    """
    first, second = sorted((a, b), key=lambda m: m.start)
    between = set(sentence_tokens[first.end : second.start])
    before = set(sentence_tokens[max(0, first.start - 3) : first.start])
    return bool(between & _HEDGES) or "either" in before


def content_stems(text: str, drop: str | None = None) -> frozenset[str]:
    """The stems of ``text``'s content words: no function words, no punctuation, and none
    of ``drop``'s words (the question's: repeating it is not answering it); all of the
    content words if dropping leaves none.

    >>> sorted(content_stems("The salt stays behind in the pan.", "Where does the salt go?"))
    ['behind', 'pan', 'stay']
    """
    words = frozenset(t for t in _tokens(text) if t[0].isalnum() and t not in FUNCTION_WORDS)
    if not drop:
        return words
    kept = words - frozenset(_tokens(drop))
    return kept or words


def overlap(answer: frozenset[str], reference: frozenset[str]) -> float:
    """F1 of two sets of stems: the harmonic mean of the share of the answer's words that
    are the reference's and the share of the reference's words that the answer has.

    >>> overlap(frozenset({"salt", "stay", "behind"}), frozenset({"salt", "stay"}))
    0.8
    """
    common = len(answer & reference)
    return 2 * common / (len(answer) + len(reference)) if common else 0.0
