"""Checking items' evidence claims against simulator sweeps.

An item may say ``evidence: {sweep: beta-sweep, claims: [{kl_coef: 0.0, verdict:
reward_hacking}]}``. ``alignquiz bank validate --evidence DIR`` reads the sweep's
``summary.json`` (written by ``alignquiz sim sweep --out DIR/beta-sweep``) and checks that
*every* run at that beta ended in the claimed verdict, so the key of a diagnosis item is
confirmed by real training, not by the author's belief. ``DIR`` is either a folder of
sweeps (``DIR/<sweep>/summary.json``) or one sweep (``DIR/summary.json``).

``--evidence`` without a folder checks against the packs shipped in the package
(``questions/evidence/<sweep>/``, see ``questions.exhibits``): real sweeps, made by
``bench/make_evidence_pack.py``, which the test suite checks every claim against. Pass a
folder to check a fresh sweep (e.g. after the simulator changed) before replacing a pack.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from questions.bank import Bank
from questions.errors import AssessmentError, QuizError
from questions.models import SweepRecord
from questions.selftest import Problem

__all__ = ["check_evidence", "load_sweep"]

_RECORDS = TypeAdapter(list[SweepRecord])


def load_sweep(evidence_dir: str | Path, sweep: str) -> list[SweepRecord]:
    """The runs of one sweep: ``DIR/<sweep>/summary.json``, else ``DIR/summary.json``."""
    root = Path(evidence_dir)
    path = root / sweep / "summary.json"
    if not path.is_file():
        path = root / "summary.json"
    if not path.is_file():
        raise QuizError(f"no summary.json for sweep {sweep!r} (run: alignquiz sim sweep "
                        f"--out {root / sweep})", path=str(root))  # fmt: skip
    try:
        return _RECORDS.validate_json(path.read_bytes())
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise QuizError(f"invalid sweep summary: {loc}: {err['msg']}", path=str(path)) from None


def check_evidence(bank: Bank, evidence_dir: str | Path) -> list[Problem]:
    """A problem for every claim the runs do not confirm (and every sweep missing)."""
    problems: list[Problem] = []
    sweeps: dict[str, list[SweepRecord] | AssessmentError] = {}
    for item in bank.items.values():
        link = item.spec.evidence
        if link is None or not link.claims:
            continue
        if link.sweep not in sweeps:
            try:
                sweeps[link.sweep] = load_sweep(evidence_dir, link.sweep)
            except AssessmentError as exc:
                sweeps[link.sweep] = exc
        runs = sweeps[link.sweep]

        def problem(message: str, item=item) -> None:
            problems.append(Problem(item.spec.id, str(item.path), item.line, message))

        if isinstance(runs, AssessmentError):
            problem(str(runs))
            continue
        for claim in link.claims:
            at_beta = [r for r in runs if math.isclose(r.kl_coef, claim.kl_coef, abs_tol=1e-12)]
            if not at_beta:
                betas = sorted({r.kl_coef for r in runs})
                problem(f"sweep {link.sweep!r} has no run at kl_coef={claim.kl_coef:g} "
                        f"(it has {', '.join(f'{b:g}' for b in betas)})")  # fmt: skip
                continue
            verdicts = Counter(r.verdict for r in at_beta)
            if verdicts[claim.verdict] != len(at_beta):
                seen = ", ".join(f"{v} x{n}" for v, n in sorted(verdicts.items()))
                problem(f"claim 'kl_coef={claim.kl_coef:g} -> {claim.verdict}' is not confirmed "
                        f"by sweep {link.sweep!r}: {seen}")  # fmt: skip
    return problems
