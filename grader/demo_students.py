"""Simulated students for the demo: answers of mixed quality, the same for the same seed.

Each student has an ability in [0.15, 0.95] drawn from the seed; for each item of their
paper they answer

* **numeric**: the key (written as a student would, 3-4 decimals) with probability
  ``ability``; otherwise a known mistake of the item (always the unclipped ``r*A`` when
  the item has it) or a number no mistake explains. Now and then (at least once for
  every fourth student) a malformed entry comes first ("n/a", "0.3 or 0.4", ...): the
  format check refuses it at no cost, and the student corrects it;
* **multiple choice**: the correct option(s) with probability ``ability``, else a wrong one;
* **essay**: one of the answers written below (never the bank's references): a good one
  with probability ``ability``, else a partial one, the wrong stance, a hedge, a list of
  keywords, or nothing.

The essays were written for this demo; they are not model answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from questions.variants import Quiz, Variant

__all__ = ["ESSAYS", "MALFORMED", "STUFFED", "SimulatedPaper", "simulate"]

MALFORMED = ("n/a", "0.3 or 0.4", "--0.5", "?", "one point two")
"""Number entries the format check refuses (a student's typos and non-answers)."""

STUFFED = (
    "This question is about RLHF. KL penalty, reference model, reward hacking, beta, clip, "
    "ratio, advantage, value function, GAE, proxy reward."
)
"""Keyword stuffing: one empty sentence and a list of terms, not an explanation."""

ESSAYS: dict[str, dict[str, str]] = {
    "adaptive-kl-essay": {
        "good": "The controller will raise beta. The KL of 9 is above the target of 6, so the "
        "error is positive and is capped at 0.2, and beta gets multiplied by a factor a bit "
        "above one, which pushes the policy back toward the reference. The catch is that each "
        "step is small because of the clip and n/H, so the controller lags behind a quick drift "
        "and may overshoot. Also, hitting a KL target says nothing about quality: a rising "
        "reward-model score could still be reward hacking within the budget.",
        "partial": "Beta goes up because the KL is larger than the target. That should slow "
        "the policy down.",
        "wrong": "The controller will lower beta, since the reward is still climbing and the "
        "run is going well, so there is no reason to hold the policy back.",
    },
    "gae-credit-essay": {
        "good": "Only the final token receives the reward-model score; every other token just "
        "gets its KL penalty as reward. The value network estimates how much future reward "
        "each prefix will collect, which gives TD errors and a baseline. GAE adds up those TD "
        "errors with weights gamma times lambda, so the final score propagates back to earlier "
        "tokens: gamma discounts the future and lambda trades bias for variance. The KL term "
        "gives each token an immediate dense signal for how far it strays from the reference.",
        "partial": "The value function helps estimate the advantage of each token, and GAE "
        "spreads the reward over the sequence.",
    },
    "clip-asymmetry-essay": {
        "good": "The claim is wrong. When the advantage is positive and r goes above 1 plus "
        "epsilon, or negative and r drops below 1 minus epsilon, the clipped term is constant "
        "and the token contributes no gradient. On the opposite side the min keeps the "
        "unclipped r times A, so a token that moved the harmful way still gets a full "
        "gradient pulling it back. Nothing enforces the range either: with several epochs "
        "and shared weights the ratio can end up well outside it.",
        "partial": "Clipping limits how far the ratio moves in one update, but tokens outside "
        "the range are not always ignored.",
        "wrong": "The claim is correct. The clip keeps the ratio inside the range, and any "
        "token outside it is dropped from the update.",
    },
    "beta-diagnosis-essay": {
        "good": "Beta is too low. The KL penalty is what keeps the policy near the frozen SFT "
        "model, whose outputs read naturally and vary. With too little penalty the policy drifts "
        "away and learns to exploit weaknesses of the reward model, so the reward keeps "
        "rising while real quality drops. That is why the samples turn repetitive and then "
        "degenerate into nonsense.",
        "partial": "I think beta is too low, so the model changes too much during training.",
        "wrong": "Beta is too high. The penalty is so strong that it distorts the outputs, and "
        "that is why the answers end up repetitive.",
        "hedged": "Beta might be too low or it might be too high; it depends on the run. "
        "Either way the KL penalty matters for the quality of the outputs.",
    },
    "beta-too-high-essay": {
        "good": "Beta is too high. The KL cost of moving away from the SFT model outweighs "
        "anything the policy could gain from the reward, so the best policy under this "
        "objective is the reference itself. That is why the KL stays near zero, the reward is "
        "flat and the samples look like the SFT model. I would lower beta or switch to an "
        "adaptive KL target, and then watch the KL, the reward and a held-out quality check "
        "for signs of reward hacking.",
        "partial": "The penalty is probably too strong. I would reduce it and see if the "
        "reward starts to improve.",
        "wrong": "Beta is too low, so the policy is not getting a useful learning signal and "
        "cannot improve; I would increase beta.",
        "hedged": "Beta could be too high or too low, it is hard to tell from these logs. I "
        "would try a few values and see.",
    },
    "kl-objective-essay": {
        "good": "The first term wants responses that the reward model rates highly. The KL "
        "term charges the policy for moving its distribution away from the frozen reference, "
        "which keeps what the SFT model already does well. Beta is the exchange rate: a large "
        "beta keeps the policy near the reference, a small one lets it chase the reward. "
        "Because the log-ratio of a whole response is the sum of the per-token log-ratios, "
        "summing the per-token penalties gives an estimate of the KL, so adding the score on "
        "the last token yields the same objective.",
        "partial": "The reward term makes answers better and the KL term stops the model from "
        "changing too much.",
    },
    "clip-vs-kl-essay": {
        "good": "The clip compares the policy with the old policy that collected the latest "
        "batch, so it works like a local trust region for one iteration. The KL penalty "
        "compares it with the frozen reference over the whole run, so it measures the total "
        "drift. The clip just removes the gradient beyond the range, while the KL penalty is a "
        "cost subtracted from the reward, weighted by beta. Many small clipped steps still add "
        "up to a large drift, so the clip alone cannot stop reward hacking over a long run.",
        "partial": "Both keep updates small, but the KL penalty uses the reference model.",
    },
    "goodhart-essay": {
        "good": "The reward model is only a proxy for what people prefer, learned from a "
        "limited set of comparisons. As the policy moves further from the reference it writes "
        "text unlike anything the reward model was trained on, where its scores are not "
        "reliable. So with more optimization the proxy score keeps rising while the true "
        "quality first improves, then peaks and falls. A KL penalty or target, early stopping "
        "on held-out human ratings, or a better or ensembled reward model limits the damage.",
        "partial": "If you optimize the reward model too hard the model finds tricks. You "
        "should stop training early.",
    },
    "monitoring-plan-essay": {
        "good": "I would score held-out prompts with an independent judge that the policy is "
        "not trained on, such as human ratings or a gold reward model, and compare it with "
        "the proxy reward. I would log the KL to the reference and treat growth past a budget "
        "as a warning, and inspect samples for length, repetition and diversity. The trigger "
        "is a divergence: proxy reward going up while the independent score stalls or drops. "
        "Then I would stop early, keep the best checkpoint by the independent score, and "
        "raise beta or retrain the reward model.",
        "partial": "I would watch the reward and look at some samples from time to time.",
    },
}
"""For each essay item of the built-in bank: good, partial, and for some items with a
stance the wrong stance or a hedge (both stances at once)."""


@dataclass(frozen=True)
class SimulatedPaper:
    """One student's simulated work: what they typed first (with malformed entries),
    and the answers they submit after the format check."""

    student_id: str
    ability: float
    first_try: dict[str, str]
    answers: dict[str, str]
    kinds: dict[str, str] = field(default_factory=dict)
    """Per item, what kind of answer was simulated (``correct``, ``misconception``, ...)."""


def _number(value: float, rng: random.Random) -> str:
    return f"{value:.{rng.choice((3, 4))}f}"


def _numeric(v: Variant, spec, rng: random.Random, ability: float) -> tuple[str, str]:
    from questions.generate import misconception_values

    assert v.answer is not None
    if rng.random() < ability:
        return _number(v.answer.value, rng), "correct"
    mistakes = misconception_values(v, getattr(spec, "misconceptions", ()))
    if "unclipped" in mistakes:  # the classic: r*A without the clip
        return _number(mistakes["unclipped"], rng), "misconception:unclipped"
    if mistakes and rng.random() < 0.7:
        name = rng.choice(sorted(mistakes))
        return _number(mistakes[name], rng), f"misconception:{name}"
    return _number(v.answer.value * rng.choice((1.5, 0.6, -1.3)) + 0.25, rng), "wrong"


def _choice(v: Variant, rng: random.Random, ability: float) -> tuple[str, str]:
    right = [o.label for o in v.options if o.correct]
    wrong = [o.label for o in v.options if not o.correct]
    if rng.random() < ability or not wrong:
        return ",".join(right), "correct"
    if v.multiple and len(right) > 1 and rng.random() < 0.5:
        return ",".join(right[:-1]), "incomplete"
    return rng.choice(wrong), "wrong"


def _essay(item_id: str, rng: random.Random, ability: float) -> tuple[str | None, str]:
    bank = ESSAYS.get(item_id, {})
    if "good" in bank and rng.random() < ability:
        return bank["good"], "good"
    weights = {"partial": 4, "wrong": 3, "hedged": 2, "stuffed": 1, "blank": 1}
    options = [k for k in weights if k in bank or k in ("stuffed", "blank")]
    kind = rng.choices(options, weights=[weights[k] for k in options])[0]
    if kind == "stuffed":
        return STUFFED, kind
    return (None, kind) if kind == "blank" else (bank[kind], kind)


def simulate(quiz: Quiz, seed: int) -> list[SimulatedPaper]:
    """One simulated paper per student of ``quiz`` (deterministic in ``seed``)."""
    papers = []
    for i, student in enumerate(quiz.students):
        rng = random.Random(f"{seed}:{student.student_id}")
        ability = 0.15 + 0.8 * ((i * 7 + rng.random()) % len(quiz.students)) / len(quiz.students)
        first, final, kinds = {}, {}, {}
        typo_due = i % 4 == 0  # every fourth student mistypes a number at least once
        for v in quiz.variants[student.student_id]:
            spec = quiz.items[v.item_id]
            if v.kind == "numeric":
                answer, kind = _numeric(v, spec, rng, ability)
                if typo_due or rng.random() < 0.03:
                    first[v.item_id] = rng.choice(MALFORMED)
                    typo_due = False
            elif v.kind == "multiple_choice":
                answer, kind = _choice(v, rng, ability)
            else:
                answer, kind = _essay(v.item_id, rng, ability)
            kinds[v.item_id] = kind
            if answer is not None:
                final[v.item_id] = answer
                first.setdefault(v.item_id, answer)
        papers.append(SimulatedPaper(student.student_id, round(ability, 3), first, final, kinds))
    return papers
