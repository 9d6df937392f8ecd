"""Choose generic mode's score formula on SemEval-2013's *training* splits only.

    python bench/choose_generic_score.py [--zip ../shared/benchmarks/semeval2013/semeval-3way.zip]
                                         [--no-check]

Generic mode (:meth:`grader.essay.EssayTask.generic`) has only the question and the
references. Its score should rank answers as a human grader would; the benchmark for
that is Mohler (issue 4), which must stay zero-shot, so nothing is chosen on it: this
script never reads Mohler nor a SemEval test split (``read(zip, "training")`` only).

Each training answer is prepared as the grader prepares it (sentences, guards, the
question's words removed) and described by a few features against the closest
reference (by cosine, as the grader picks it):

- ``cos``: cosine of the answer and the reference, the question's words removed (today's
  coverage);
- ``cos_full``: cosine of the full texts;
- ``f1``: F1 of their content-word stems, the question's words removed
  (:func:`grader.text.content_stems`, :func:`grader.text.overlap`);
- ``len``: log of the ratio of their numbers of content words (answer / reference);
- ``recall``: how much of the reference the answer says, word piece by word piece
  (BERTScore-style recall over MiniLM's last layer, function words and the question's
  words left out: :func:`grader.essay.token_recall`).

The same features of *unrelated* answers (each training answer graded against the next
question of its data set) give the score's zero point: MiniLM's cosine of two unrelated
texts is about 0.25, not 0.

Candidates:

- fixed formulas of the features (today's ramp among them);
- ``logistic(...)``: a logistic regression predicting ``correct`` (a smooth, monotone
  map to 0..1), divided by its value for an answer identical to a reference;
- ``ramp(...)``: a linear ramp over ``cos`` or over the logistic regression's linear
  score ``w . x``, from the median over unrelated answers (0) to the median over correct
  answers (1): an answer as close as an unrelated one earns nothing, one as close as a
  typical correct answer earns everything.

Each is scored by its Pearson (point-biserial) correlation with ``label == correct``:
pooled over both training sets, per set, and, for the fitted ones, out of fold only: five
folds grouped by question (no question's answers in both fit and score), and across data
sets (fit on one, score the other). Each must also meet the grader's own requirements, on
the sentences of tests/grader/test_essay.py (written for this repository): an answer
identical to the reference scores >= 0.99, an unrelated answer < PARTIAL_AT, and the
paraphrase beats the unrelated answer by >= 0.3.

Rule: among candidates that meet the requirements, the highest pooled out-of-fold r wins;
one with fewer constants wins ties within 0.01. (The first version of this script had no
requirements and no ``ramp(...)`` candidates: it chose ``logistic(cos, cos_full, f1,
len)``, whose scores are compressed, a paraphrase 0.34 against 0.17 for an unrelated
answer, so the grader's test failed; the requirements and the anchored ramps were added
then, before Mohler was ever scored. The third session added ``recall`` and its
candidates; the rule, unchanged, chose ``ramp(recall)``, and only then was Mohler scored
with it: r 0.576 -> 0.624.) Finally the grader itself (with a stand-in for the
pair classifier) scores every training answer, to check that
:func:`grader.essay.generic_score` is the chosen formula.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.semeval import read  # noqa: E402
from grader.essay import PARTIAL_AT, token_recall, without_question_words  # noqa: E402
from grader.rubric import check_guards  # noqa: E402
from grader.text import content_stems, overlap, sentences  # noqa: E402

ZIP = REPO.parent / "shared" / "benchmarks" / "semeval2013" / "semeval-3way.zip"
FEATURES = ("cos", "cos_full", "f1", "len", "recall")
IDENTICAL = {"cos": 1.0, "cos_full": 1.0, "f1": 1.0, "len": 0.0, "recall": 1.0}
"""The features of an answer identical to a reference."""

Item = tuple[str, Sequence[str], str]
"""(question, references, answer): what generic mode grades."""

_Q = "What does the KL penalty in RLHF do?"
_REF = (
    "It keeps the trained policy close to the reference model, so the policy does not drift "
    "into text where the reward model is wrong."
)
REQUIRED: dict[str, Item] = {  # tests/grader/test_essay.py
    "identical": (_Q, [_REF], _REF),
    "paraphrase": (
        _Q,
        [_REF],
        "The penalty stops the policy from moving far away from the original model.",
    ),  # fmt: skip
    "unrelated": (_Q, [_REF], "The learning rate controls the size of each optimizer step."),
}


@dataclass
class Data:
    X: np.ndarray  # (n, len(FEATURES)); NaN where the grader gives 0 (no usable sentence)
    y: np.ndarray  # 1 where the label is correct
    group: np.ndarray  # question id
    dataset: np.ndarray  # beetle | sciEntsBank
    items: list[Item]
    U: np.ndarray  # the features of unrelated answers (graded against another question)
    u_groups: np.ndarray  # (n_u, 2): the answer's question and the question graded against
    u_dataset: np.ndarray


def featurize(items: Sequence[Item]) -> np.ndarray:
    """The features of each (question, references, answer), prepared as the grader does."""
    from grader.embedding import get_embedder

    rows, texts = [], []
    for question, refs, answer in items:
        answer = answer if answer.strip() else "-"  # as grader_bench passes it
        refs_wq = [without_question_words(r, question) for r in refs]
        sents = sentences(answer)
        guards = check_guards(sents, question)
        usable = " ".join(sents[i] for i in guards.usable(len(sents)))
        if not usable or guards.injection is not None:
            rows.append(None)
            continue
        a_wq = without_question_words(usable, question)
        texts += [*refs, *refs_wq, usable, a_wq]
        rows.append((question, refs, refs_wq, usable, a_wq))
    embedder = get_embedder()
    whole = list(dict.fromkeys(t for row in rows if row for t in (*row[1], row[3])))
    states = dict(zip(whole, embedder.token_states(whole), strict=True))
    unique = list(dict.fromkeys(texts))
    vecs = dict(zip(unique, embedder.encode(unique), strict=True))
    X = np.full((len(items), len(FEATURES)), np.nan)
    for i, row in enumerate(rows):
        if row is None:  # the grader gives these 0 whatever the formula
            continue
        question, refs, refs_wq, usable, a_wq = row
        cos = [float(vecs[r] @ vecs[a_wq]) for r in refs_wq]
        best = int(np.argmax(cos))
        mine, theirs = content_stems(usable, question), content_stems(refs[best], question)
        X[i] = [
            cos[best],
            float(vecs[refs[best]] @ vecs[usable]),
            overlap(mine, theirs),
            np.log((1 + len(mine)) / (1 + len(theirs))),
            token_recall(states[refs[best]], states[usable], question),
        ]
    return X


def load(zip_path: Path) -> Data:
    splits = read(zip_path, "training")  # never "test", never Mohler
    items, y, group, dataset = [], [], [], []
    u_items, u_groups, u_dataset = [], [], []
    for name, questions in sorted(splits.items()):
        for k, q in enumerate(questions):
            other = questions[(k + 1) % len(questions)]
            for a in q.answers:
                items.append((q.text, q.references, a.text))
                y.append(a.label == "correct")
                group.append(f"{name}/{q.qid}")
                dataset.append(name)
                u_items.append((other.text, other.references, a.text))
                u_groups.append((f"{name}/{q.qid}", f"{name}/{other.qid}"))
                u_dataset.append(name)
    return Data(
        featurize(items), np.array(y, float), np.array(group), np.array(dataset), items,
        featurize(u_items), np.array(u_groups), np.array(u_dataset),
    )  # fmt: skip


def col(X: np.ndarray, name: str) -> np.ndarray:
    return X[:, FEATURES.index(name)]


def _ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((x - low) / (high - low), 0.0, 1.0)


class Candidate:
    """A score formula: ``fit`` on training answers (and unrelated ones), then call."""

    constants = 0

    def fit(self, X: np.ndarray, y: np.ndarray, U: np.ndarray) -> Candidate:
        return self

    def __call__(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Fixed(Candidate):
    def __init__(self, f: Callable[[np.ndarray], np.ndarray]):
        self.f = f

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.f(X)


class Logistic(Candidate):
    """sigmoid(w . x + b) fitted to predict ``correct``, divided by its value for an
    answer identical to a reference (capped at 1)."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.idx = [FEATURES.index(n) for n in names]
        self.constants = len(names) + 1

    def fit(self, X: np.ndarray, y: np.ndarray, U: np.ndarray) -> Logistic:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0, max_iter=1000).fit(X[:, self.idx], y)
        self.w, self.b = model.coef_[0], float(model.intercept_[0])
        self.top = self._p(np.array([[IDENTICAL[n] for n in self.names]]))[0]
        return self

    def linear(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.idx] @ self.w

    def _p(self, Z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(Z @ self.w + self.b)))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, self._p(X[:, self.idx]) / self.top)


class AnchoredRamp(Candidate):
    """A ramp over ``cos`` (one feature) or over a logistic regression's ``w . x``: 0 at
    the median over unrelated answers, 1 at the median over correct answers."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.logistic = Logistic(names) if len(names) > 1 else None
        self.constants = 2 + (len(names) if self.logistic else 0)

    def z(self, X: np.ndarray) -> np.ndarray:
        return self.logistic.linear(X) if self.logistic else col(X, self.names[0])

    def fit(self, X: np.ndarray, y: np.ndarray, U: np.ndarray) -> AnchoredRamp:
        if self.logistic:
            self.logistic.fit(X, y, U)
        self.low = float(np.median(self.z(U)))
        self.high = float(np.median(self.z(X[y == 1])))
        return self

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return _ramp(self.z(X), self.low, self.high)


def candidates() -> dict[str, Candidate]:
    all4 = FEATURES[:4]
    return {
        "ramp(cos, .30, .55) [today]": Fixed(lambda X: _ramp(col(X, "cos"), 0.30, 0.55)),
        "cos": Fixed(lambda X: np.clip(col(X, "cos"), 0, 1)),
        "cos_full": Fixed(lambda X: np.clip(col(X, "cos_full"), 0, 1)),
        "(cos + cos_full) / 2": Fixed(
            lambda X: np.clip((col(X, "cos") + col(X, "cos_full")) / 2, 0, 1)
        ),  # fmt: skip
        "f1": Fixed(lambda X: col(X, "f1")),
        "(cos + f1) / 2": Fixed(lambda X: np.clip((col(X, "cos") + col(X, "f1")) / 2, 0, 1)),
        "logistic(cos)": Logistic(("cos",)),
        "logistic(cos, f1)": Logistic(("cos", "f1")),
        "logistic(cos, cos_full, f1)": Logistic(("cos", "cos_full", "f1")),
        "logistic(cos, cos_full, f1, len)": Logistic(all4),
        "ramp(cos)": AnchoredRamp(("cos",)),
        "ramp(cos, f1)": AnchoredRamp(("cos", "f1")),
        "ramp(cos, cos_full, f1)": AnchoredRamp(("cos", "cos_full", "f1")),
        "ramp(cos, cos_full, f1, len)": AnchoredRamp(all4),
        # added in the third session, before Mohler was scored with any of them: BERTScore-
        # style recall of the reference's word pieces (grader.essay.token_recall)
        "recall": Fixed(lambda X: np.clip(col(X, "recall"), 0, 1)),
        "logistic(cos, cos_full, f1, len, recall)": Logistic(FEATURES),
        "ramp(recall)": AnchoredRamp(("recall",)),
        "ramp(cos, recall)": AnchoredRamp(("cos", "recall")),
        "ramp(recall, f1, len)": AnchoredRamp(("recall", "f1", "len")),
        "ramp(cos, cos_full, f1, len, recall)": AnchoredRamp(FEATURES),
    }


def _score(f: Candidate, X: np.ndarray) -> np.ndarray:
    """A formula's scores, 0 where the grader gives 0 (no usable sentence)."""
    out = np.zeros(len(X))
    ok = ~np.isnan(X[:, 0])
    out[ok] = f(X[ok])
    return out


def _r(s: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(s, y)[0, 1])


def _fit(c: Candidate, d: Data, rows: np.ndarray, u_rows: np.ndarray) -> Candidate:
    ok = rows & ~np.isnan(d.X[:, 0])
    u_ok = u_rows & ~np.isnan(d.U[:, 0])
    return c.fit(d.X[ok], d.y[ok], d.U[u_ok])


def evaluate(d: Data, required: np.ndarray) -> list[dict]:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    everything = np.ones(len(d.y), bool)
    rows = []
    for name, c in candidates().items():
        cross = None
        if isinstance(c, Fixed):
            s = _score(c, d.X)
        else:
            s = np.zeros(len(d.y))
            for train, test in GroupKFold(n_splits=5).split(d.X, d.y, d.group):
                fold = np.zeros(len(d.y), bool)
                fold[train] = True
                seen = set(d.group[train])
                u_fold = np.array([a in seen and b in seen for a, b in d.u_groups])
                s[test] = _score(_fit(c, d, fold, u_fold), d.X[test])
            cross = []
            for src, dst in (("beetle", "sciEntsBank"), ("sciEntsBank", "beetle")):
                model = _fit(c, d, d.dataset == src, d.u_dataset == src)
                tgt = d.dataset == dst
                cross.append(_r(_score(model, d.X[tgt]), d.y[tgt]))
        final = _fit(c, d, everything, np.ones(len(d.U), bool))  # on all training answers
        req = dict(zip(REQUIRED, _score(final, required), strict=True))
        meets = (req["identical"] >= 0.99 and req["unrelated"] < PARTIAL_AT
                 and req["paraphrase"] - req["unrelated"] >= 0.3)  # fmt: skip
        b, sci = d.dataset == "beetle", d.dataset == "sciEntsBank"
        rows.append({
            "name": name, "model": final, "constants": c.constants, "cross": cross,
            "pooled": _r(s, d.y), "auc": float(roc_auc_score(d.y, s)),
            "beetle": _r(s[b], d.y[b]), "sci": _r(s[sci], d.y[sci]), "req": req, "meets": meets,
        })  # fmt: skip
    return rows


def choose(rows: list[dict]) -> dict:
    eligible = [r for r in rows if r["meets"]]
    best = max(r["pooled"] for r in eligible)
    close = [r for r in eligible if r["pooled"] >= best - 0.01]
    return min(close, key=lambda r: (r["constants"], -r["pooled"]))


def describe(model: Candidate) -> str:
    if isinstance(model, AnchoredRamp):
        if model.logistic is None:
            z = model.names[0]
        else:
            z = " + ".join(f"{w:.3f} * {n}" for w, n in
                           zip(model.logistic.w, model.names, strict=True))  # fmt: skip
        return f"ramp({z}) from {model.low:.3f} (0) to {model.high:.3f} (1)"
    if isinstance(model, Logistic):
        z = " + ".join(f"{w:.3f} * {n}" for w, n in zip(model.w, model.names, strict=True))
        return f"sigmoid({z} + {model.b:.3f}) / {model.top:.4f}, capped at 1"
    return "fixed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=ZIP)
    parser.add_argument(
        "--no-check", action="store_true", help="Skip grading the answers with the grader."
    )
    args = parser.parse_args()
    d = load(args.zip)
    n_ok = int((~np.isnan(d.X[:, 0])).sum())
    print(f"SemEval-2013 training: {len(set(d.group))} questions, {len(d.y)} answers "
          f"({n_ok} with usable sentences), {d.y.mean():.1%} correct; {len(d.U)} unrelated "
          "pairs (each answer against the next question)")  # fmt: skip
    rows = evaluate(d, featurize(list(REQUIRED.values())))
    print(
        "\nPearson r of the score with label == correct (fitted: out of fold only); "
        "requirements: identical, paraphrase, unrelated (tests/grader/test_essay.py)"
    )
    print(f"{'candidate':34s} {'consts':>6} {'pooled':>7} {'AUC':>6} {'beetle':>7} "
          f"{'sciEnts':>7} {'bee->sci':>8} {'sci->bee':>8}  {'ident.':>6} {'para.':>6} "
          f"{'unrel.':>6}  ok")  # fmt: skip
    for r in rows:
        cross = ("{:8.3f} {:8.3f}".format(*r["cross"]) if r["cross"]
                 else f"{'-':>8} {'-':>8}")  # fmt: skip
        req = " ".join(f"{v:6.3f}" for v in r["req"].values())
        print(f"{r['name']:34s} {r['constants']:>6} {r['pooled']:7.3f} {r['auc']:6.3f} "
              f"{r['beetle']:7.3f} {r['sci']:7.3f} {cross}  {req}  "
              f"{'yes' if r['meets'] else 'no'}")  # fmt: skip
    chosen = choose(rows)
    print(f"\nchosen: {chosen['name']} (meets the requirements; highest pooled r, fewest "
          "constants within 0.01)")  # fmt: skip
    model = chosen["model"]
    print(f"fitted on all training answers: {describe(model)}")
    if isinstance(model, AnchoredRamp) and model.logistic is None:
        from grader.essay import GENERIC_HIGH, GENERIC_LOW

        fitted = {"low": round(model.low, 3), "high": round(model.high, 3)}
        shipped = {"low": GENERIC_LOW, "high": GENERIC_HIGH}
        print(f"grader.essay's constants {'match' if fitted == shipped else 'DIFFER FROM'} "
              f"the fit (3 decimals): {shipped}")  # fmt: skip
    if not args.no_check:
        check_grader(d, _score(model, d.X))


def check_grader(d: Data, expected: np.ndarray) -> None:
    """The grader's own generic-mode scores of every training answer against ``expected``."""
    from grader.essay import EssayGrader, EssayTask

    class NoPair:  # the classifier decides the verdict only, never the score
        def predict(self, triples):
            return np.tile([0.0, 0.0, 1.0], (len(triples), 1))

    tasks = {(q, tuple(refs)): EssayTask.generic(q, refs) for q, refs, _ in d.items}
    pairs = [(tasks[q, tuple(refs)], a if a.strip() else "-") for q, refs, a in d.items]
    got = np.array([r.score for r in EssayGrader(pair=NoPair()).grade_many(pairs)])
    print(
        f"grader.essay's generic score vs the chosen formula on every training answer: "
        f"max |difference| {np.abs(got - expected).max():.4f}; pooled r {_r(got, d.y):.3f}"
    )


if __name__ == "__main__":
    main()
