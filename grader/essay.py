"""The essay grader: similarity to the references plus the rubric, by the rubric's weights.

For one answer:

1. split into sentences; the guards drop those that copy the question or stuff
   keywords, and an answer that addresses the grader earns nothing;
2. encode the remaining sentences (one batch for many essays) with the one embedder;
3. **similarity**: how much of the best reference the answer covers, sentence by sentence
   (each reference sentence's best cosine to an answer sentence), ramped to 0..1;
4. **stance** and **concepts** (:mod:`grader.rubric`), each with its sentence;
5. combine by the rubric's weights; the wrong stance caps the score at
   :data:`WRONG_STANCE_CAP` however good the rest; feedback says what was right, what
   was missing and what was wrong; a confidence and a review flag come with it.

Generic mode (:meth:`EssayTask.generic`: a question and reference answers, no rubric)
has no rubric to say what is right, so it asks the pair classifier (:mod:`grader.pair`,
trained on SemEval-2013's training splits) about the closest reference: one pass per
essay. Its label is the verdict (``contradictory``, with a note and a review flag, when
the answer says the opposite of the reference); its probability is the confidence, lowered
when the score disagrees, so a human sees those. The score is similarity to the closest
reference (the closest by cosine, the question's own words removed: students who repeat
the question should not look like the reference because of it), by :func:`generic_score`:
a ramp over :func:`token_recall`, how much of the reference the answer says word piece by
word piece (BERTScore's recall over MiniLM's token states, function words and the
question's words left out), chosen among 20 candidates and fitted on SemEval-2013's
training splits by ``bench/choose_generic_score.py`` (never on a test split, never on
Mohler; an earlier weighted mix of cosines, word overlap and length gave Mohler's r 0.576,
this ramp 0.624). The
classifier's probabilities are near 0 or 1, a verdict rather than a scale (blending half of
P(correct) into the score lowered Mohler's r from 0.536 to 0.510, so it was not kept). Nor
does a ``contradictory`` verdict cap the score as a wrong stance does in rubric mode: out of
its domain the classifier calls many right answers contradictory (capping took Mohler's r
from 0.576 to 0.535), so such answers keep their score and go to review instead.

Rubric mode does not run the classifier: the item's declared stance positions, with
negation and hedging, decide the direction, more precisely than a model trained on
other subjects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from grader.embedding import Embedder, TokenStates, get_embedder
from grader.pair import LABELS
from grader.result import GradeResult, Verdict
from grader.rubric import (
    ConceptFinding,
    Guards,
    StanceFinding,
    check_guards,
    find_concepts,
    find_stance,
)
from grader.text import FUNCTION_WORDS, sentences, stem, tokens
from questions.models import EssayItem, Rubric

__all__ = [
    "CORRECT_AT",
    "GENERIC_HIGH",
    "GENERIC_LOW",
    "PARTIAL_AT",
    "SIM_FULL",
    "SIM_NONE",
    "WRONG_STANCE_CAP",
    "EssayGrader",
    "EssayTask",
    "generic_score",
    "token_recall",
    "grade_essay",
]

SIM_NONE = 0.30
"""Coverage of the best reference at or below which the similarity part earns nothing
(rubric mode)."""
SIM_FULL = 0.75
"""Coverage at or above which it earns everything; linear in between (rubric mode)."""
GENERIC_LOW = 0.232
"""The :func:`token_recall` at or below which generic mode scores 0: the median over
unrelated answers (SemEval-2013 training answers graded against another question)."""
GENERIC_HIGH = 0.638
"""The :func:`token_recall` at or above which generic mode scores 1 (linear in between):
the median over the correct SemEval-2013 training answers. Both were chosen and fitted on
SemEval-2013's training splits by bench/choose_generic_score.py (of the candidates that
meet the grader's requirements, the best out-of-fold correlation with ``correct``, folds
grouped by question, fewest constants within 0.01); never on a test split, never on
Mohler."""
_TOKENS = "tokens"
"""The key under which a text's TokenStates sit in the grader's table of encodings."""
WRONG_STANCE_CAP = 0.25
"""The most an answer taking the wrong stance can score, however good its reasons."""
OPPOSITE_NOTE = (
    "Your answer may say the opposite of a model answer (a negation or an opposite word); "
    "your instructor will check."
)
CORRECT_AT = 0.80
PARTIAL_AT = 0.35


@dataclass(frozen=True)
class EssayTask:
    """What an essay is graded against: the question, references and a rubric."""

    item_id: str
    prompt: str | None
    references: tuple[str, ...]
    rubric: Rubric
    points: float = 1.0

    @classmethod
    def from_item(cls, item: EssayItem) -> EssayTask:
        return cls(item.id, item.prompt, tuple(item.references), item.rubric, item.points)

    @classmethod
    def generic(cls, question: str | None, references: Sequence[str]) -> EssayTask:
        """Any short-answer question: similarity to the references only."""
        return cls("generic", question, tuple(references), Rubric(similarity_weight=1.0))

    @property
    def generic_mode(self) -> bool:
        return self.rubric.stance is None and not self.rubric.concepts


def _ramp(x: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (x - low) / (high - low))))


def generic_score(recall: float) -> float:
    """Generic mode's score, 0..1: :func:`token_recall` of the closest reference ramped
    from :data:`GENERIC_LOW` (as close as an unrelated answer: 0) to :data:`GENERIC_HIGH`
    (as close as a typical correct answer: 1). An answer identical to the reference
    scores 1.

    >>> generic_score(1.0)
    1.0
    >>> generic_score(0.2)
    0.0
    """
    return _ramp(recall, GENERIC_LOW, GENERIC_HIGH)


def token_recall(reference: TokenStates, answer: TokenStates, question: str | None) -> float:
    """How much of the reference the answer says, word piece by word piece (BERTScore's
    recall, with MiniLM's last layer): each content piece of the reference is matched to
    its closest content piece of the answer by cosine, and the cosines are averaged.
    Content pieces belong to words that are neither function words nor the question's
    (all content words if that leaves none, all pieces if there are none)."""
    drop = frozenset(tokens(question)) if question else frozenset()

    def content(s: TokenStates) -> np.ndarray:
        stems = [stem(w) for w in s.words]
        for skip in (FUNCTION_WORDS | drop, FUNCTION_WORDS):
            keep = [i for i, t in enumerate(stems) if t not in skip]
            if keep:
                return s.vectors[keep]
        return s.vectors

    ref, ans = content(reference), content(answer)
    if not len(ref) or not len(ans):
        return 0.0
    return float((ref @ ans.T).max(axis=1).mean())


def _quote(sentence: str | None, limit: int = 90) -> str:
    """A sentence in curly quotes, shortened to ``limit`` characters."""
    s = (sentence or "").strip()
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    return "\u201c" + s + "\u201d"


def without_question_words(text: str, question: str | None) -> str:
    """``text`` without the words that also occur in ``question`` (kept whole if that
    leaves nothing): an answer should not look right by repeating the question.

    >>> without_question_words("The salt stays behind", "Where does the salt go?")
    'stays behind'
    """
    if not question:
        return text
    qwords = {t for t in tokens(question) if t[0].isalnum()}
    kept = [w for w in re.findall(r"\S+", text) if not (set(tokens(w)) <= qwords)]
    return " ".join(kept) or text


class PairModel(Protocol):
    """What generic mode needs of the pair classifier (:class:`grader.pair.PairClassifier`)."""

    def predict(self, triples: Sequence[tuple[str | None, str, str]]) -> np.ndarray: ...


class EssayGrader:
    """Grades essays with one embedder and, for generic mode, one pair classifier (the
    real models, loaded on first use, unless others are given)."""

    def __init__(self, embedder: Embedder | None = None, pair: PairModel | None = None):
        self.embedder = embedder
        self.pair = pair

    def _embedder(self) -> Embedder:
        return self.embedder if self.embedder is not None else get_embedder()

    def _pair(self) -> PairModel:
        if self.pair is None:
            from grader.pair import get_pair_classifier

            return get_pair_classifier()
        return self.pair

    def grade(self, task: EssayTask, answer: str) -> GradeResult:
        return self.grade_many([(task, answer)])[0]

    def grade_many(self, pairs: Sequence[tuple[EssayTask, str]]) -> list[GradeResult]:
        """Grade many (task, answer) pairs, encoding every sentence in one batch and
        classifying every generic-mode answer in one more."""
        embedder = self._embedder()
        prepared, vecs = self._prepare(pairs, embedder)
        coverages = [self._coverage(p[4], p[5], vecs) for p in prepared]
        todo = [
            i for i, p in enumerate(prepared)
            if p[0].generic_mode and p[2].injection is None and p[3]
        ]  # fmt: skip
        probs: list[np.ndarray | None] = [None] * len(prepared)
        if todo:
            triples = []
            for i in todo:
                task, _, _, usable = prepared[i][:4]
                best = int(np.argmax(coverages[i]))
                triples.append((task.prompt, task.references[best], " ".join(usable)))
            for i, row in zip(todo, self._pair().predict(triples), strict=True):
                probs[i] = row
        return [
            self._grade_one(*p, vecs, embedder, coverages[i], probs[i])
            for i, p in enumerate(prepared)
        ]

    @staticmethod
    def _coverage(units: list[str], ref_sents: list[list[str]], vecs) -> list[float]:
        """For each reference: the mean over its sentences of the best cosine to a unit."""
        if not units:
            return [0.0] * len(ref_sents)
        unit_vecs = np.stack([vecs[u] for u in units])  # (n_units, 384)
        return [
            float((np.stack([vecs[s] for s in rs]) @ unit_vecs.T).max(axis=1).mean())
            for rs in ref_sents
        ]

    def _prepare(self, pairs: Sequence[tuple[EssayTask, str]], embedder: Embedder):
        """Sentences, guards and the units to encode; then every unit encoded at once."""
        prepared = []
        texts: list[str] = []
        whole: list[str] = []
        for task, answer in pairs:
            sents = sentences(answer)
            guards = check_guards(sents, task.prompt)
            usable = [sents[i] for i in guards.usable(len(sents))]
            if task.generic_mode:
                usable_text = [without_question_words(" ".join(usable), task.prompt)]
                refs = [without_question_words(r, task.prompt) for r in task.references]
                ref_sents = [[r] for r in refs]
                units = usable_text if usable else []
                if usable:  # the full texts' word pieces, for generic_score's token recall
                    whole.extend([" ".join(usable), *task.references])
            else:
                ref_sents = [sentences(r) for r in task.references]
                units = usable
            prepared.append((task, sents, guards, usable, units, ref_sents))
            texts.extend(units)
            texts.extend(s for rs in ref_sents for s in rs)
        vecs: dict[Any, Any] = {}  # text -> vector; (_TOKENS, text) -> TokenStates
        if whole:  # TokenStates by text, under a key apart from the sentence vectors
            unique = list(dict.fromkeys(whole))
            states = embedder.token_states(unique)
            vecs.update(((_TOKENS, t), st) for t, st in zip(unique, states, strict=True))
        if texts:
            unique = list(dict.fromkeys(texts))
            vecs.update(zip(unique, embedder.encode(unique), strict=True))
        return prepared, vecs

    def _grade_one(
        self,
        task: EssayTask,
        sents: list[str],
        guards: Guards,
        usable: list[str],
        units: list[str],
        ref_sents: list[list[str]],
        vecs: dict[str, np.ndarray],
        embedder: Embedder,
        coverage: list[float],
        probs: np.ndarray | None,
    ) -> GradeResult:
        rubric, points = task.rubric, task.points
        if guards.injection is not None:
            return GradeResult.of(
                0.0,
                points=points,
                feedback=[
                    f"Your answer addresses the grader ({_quote(guards.injection)}) instead "
                    "of the question, so it earns no credit; your instructor will review it."
                ],
                confidence=1.0,
                review=True,
                evidence={"injection": guards.injection},
            )
        notes = []
        if guards.copied:
            notes.append("Sentences that repeat the question earn nothing; answer it instead.")
        if guards.stuffed:
            notes.append(
                "A list of keywords is not an explanation: only full sentences earn credit "
                f"(not counted: {_quote(sents[guards.stuffed[0]])})."
            )
        if not usable:
            why = "repeats the question" if guards.copied else "has no full sentences"
            return GradeResult.of(
                0.0, points=points, feedback=[f"Your answer {why}, so it earns no credit.", *notes],
                confidence=0.9, review=False,
            )  # fmt: skip

        unit_vecs = np.stack([vecs[u] for u in units])  # (n_units, 384)
        best_ref = int(np.argmax(coverage))
        if task.generic_mode:
            similarity = self._generic_similarity(task, " ".join(usable), best_ref, vecs)
        else:
            similarity = _ramp(coverage[best_ref], SIM_NONE, SIM_FULL)
        parts: dict[str, float] = {"similarity": round(similarity, 4)}
        evidence: dict[str, str] = {}
        weights: dict[str, float] = {"similarity": rubric.similarity_weight}

        unstuffed = [s for i, s in enumerate(sents) if i not in guards.stuffed]
        stance = find_stance(unstuffed, rubric.stance) if rubric.stance else StanceFinding("none")
        if rubric.stance:
            parts["stance"] = 1.0 if stance.status == "expected" else 0.0
            weights["stance"] = rubric.stance.weight
            if stance.sentence:
                evidence["stance"] = stance.sentence
        concepts = find_concepts(units, unit_vecs, rubric.concepts, embedder)
        for c, finding in zip(rubric.concepts, concepts, strict=True):
            parts[c.name] = round(finding.score, 4)
            weights[c.name] = c.weight
            if finding.sentence and finding.score > 0:
                evidence[c.name] = finding.sentence

        total = sum(weights.values())
        score = sum(weights[k] * parts[k] for k in parts) / total if total else 0.0
        label = None
        if probs is not None:  # generic mode: the pair classifier on the closest reference
            label = LABELS[int(np.argmax(probs))]
            evidence["classifier"] = ", ".join(
                f"{k} {p:.2f}" for k, p in zip(LABELS, probs, strict=True)
            )
        opposite = label == "contradictory"
        if stance.status == "wrong":
            score = min(score, WRONG_STANCE_CAP)
        verdict: Verdict
        if stance.status in ("wrong", "contradictory") or opposite:
            verdict = "contradictory"
        elif label == "correct" or (label is None and score >= CORRECT_AT):
            verdict = "correct"
        elif score >= PARTIAL_AT:
            verdict = "partially_correct"
        else:
            verdict = "incorrect"

        feedback = self._feedback(task, stance, concepts, similarity, notes)
        if opposite:
            feedback.insert(0, OPPOSITE_NOTE)
        confidence, review = self._confidence(task, score, stance, similarity, concepts, guards)
        if probs is not None:  # the classifier's confidence, less where the score disagrees
            disagree = (label == "correct") != (score >= PARTIAL_AT)
            confidence = round(float(np.max(probs)) - (0.25 if disagree else 0.0), 3)
            review = confidence < 0.6 or bool(guards.copied or guards.stuffed)
        review = review or opposite
        return GradeResult.of(
            score, points=points, verdict=verdict, feedback=feedback, confidence=confidence,
            review=review, parts=parts, evidence=evidence,
        )  # fmt: skip

    @staticmethod
    def _generic_similarity(
        task: EssayTask, answer: str, best_ref: int, vecs: dict[Any, Any]
    ) -> float:
        """:func:`generic_score` of ``answer`` (its usable sentences) against the closest
        reference."""
        ref = task.references[best_ref]
        return generic_score(
            token_recall(vecs[_TOKENS, ref], vecs[_TOKENS, answer], task.prompt)
        )

    @staticmethod
    def _feedback(
        task: EssayTask,
        stance: StanceFinding,
        concepts: list[ConceptFinding],
        similarity: float,
        notes: list[str],
    ) -> list[str]:
        rubric = task.rubric
        lines: list[str] = []
        if rubric.stance is not None:
            q = _quote(rubric.stance.question)
            said = (stance.position or "").replace("-", " ")
            if stance.status == "expected":
                lines.append(f"Right: to {q} you answer {said} ({_quote(stance.sentence)}).")
            elif stance.status == "wrong":
                lines.append(
                    f"Wrong: to {q} you answer {said} ({_quote(stance.sentence)}), "
                    f"which is not the case; with the wrong answer the reasons can earn at most "
                    f"{WRONG_STANCE_CAP:.0%} of the marks."
                )
            elif stance.status == "hedged":
                lines.append(
                    f"You leave {q} open ({_quote(stance.sentence)}): commit to "
                    "one answer and justify it. No credit for this part."
                )
            elif stance.status == "contradictory":
                lines.append(
                    f"Your answer contradicts itself on {q}: "
                    f"{_quote(stance.sentence)} but {_quote(stance.conflict)}. "
                    "No credit for this part."
                )
            elif stance.said_of is not None:
                subject = rubric.stance.about[0]
                lines.append(
                    f"Missing: you do not answer {q}: {_quote(stance.sentence)} is about the "
                    f"{stance.said_of}, not {subject}."
                )
            else:
                lines.append(f"Missing: you do not answer {q} clearly.")
        by_name = {c.name: c for c in rubric.concepts}
        for f in concepts:
            what = by_name[f.name].description.strip().rstrip(".")
            if f.found:
                lines.append(f"Right: {what} ({_quote(f.sentence)}).")
            elif f.score > 0:
                lines.append(f"Partly there: {what}; say it explicitly ({_quote(f.sentence)}).")
            else:
                lines.append(f"Missing: {what}.")
        if task.generic_mode:
            level = "far from"
            if similarity >= 0.3:
                level = "close to" if similarity >= 0.8 else "partly like"
            lines.append(f"Your answer is {level} a model answer.")
        return lines + notes

    @staticmethod
    def _confidence(
        task: EssayTask,
        score: float,
        stance: StanceFinding,
        similarity: float,
        concepts: list[ConceptFinding],
        guards: Guards,
    ) -> tuple[float, bool]:
        margin = min(abs(score - CORRECT_AT), abs(score - PARTIAL_AT))
        confidence = 0.5 + min(0.45, 2.5 * margin)
        rubric_parts = [c.score for c in concepts]
        if task.rubric.stance is not None:
            rubric_parts.append(1.0 if stance.status == "expected" else 0.0)
        if rubric_parts and abs(similarity - sum(rubric_parts) / len(rubric_parts)) > 0.5:
            confidence -= 0.15  # the references and the rubric disagree
        if task.generic_mode:
            confidence -= 0.1  # similarity alone
        confidence = max(0.0, min(1.0, confidence))
        review = (
            confidence < 0.6
            or stance.status in ("hedged", "contradictory")
            or bool(guards.copied or guards.stuffed)
        )
        return round(confidence, 3), review


def grade_essay(item: EssayItem, answer: str, embedder: Embedder | None = None) -> GradeResult:
    """Grade one answer to an essay item (the model is loaded on first use)."""
    return EssayGrader(embedder).grade(EssayTask.from_item(item), answer)
