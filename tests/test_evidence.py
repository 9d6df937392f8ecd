"""Evidence claims of bank items are checked against a sweep's summary.json."""

from __future__ import annotations

import json
from pathlib import Path

from questions.evidence import check_evidence


def claims(bank) -> dict[str, set[tuple[float, str]]]:
    out: dict[str, set[tuple[float, str]]] = {}
    for item in bank.items.values():
        if item.spec.evidence is not None:
            out.setdefault(item.spec.evidence.sweep, set()).update(
                (c.kl_coef, c.verdict) for c in item.spec.evidence.claims
            )
    return out


def write_sweep(folder: Path, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(records), encoding="utf-8")


def test_the_bank_makes_claims_about_every_regime(builtin_bank):
    verdicts = {v for pairs in claims(builtin_bank).values() for _, v in pairs}
    assert verdicts == {"reward_hacking", "healthy", "stuck"}


def test_claims_hold_when_every_run_agrees_and_fail_otherwise(builtin_bank, tmp_path, run_cli):
    for sweep, pairs in claims(builtin_bank).items():
        records = [{"kl_coef": b, "seed": s, "verdict": v, "seconds": 1.0, "final": {}}
                   for b, v in sorted(pairs) for s in (1, 2, 3)]  # fmt: skip
        write_sweep(tmp_path / sweep, records)
    assert check_evidence(builtin_bank, tmp_path) == []
    result = run_cli("bank", "validate", "--seeds", "2", "--evidence", str(tmp_path))
    assert result.returncode == 0, result.stderr

    sweep, pairs = next(iter(claims(builtin_bank).items()))
    beta, verdict = sorted(pairs)[0]
    other = "stuck" if verdict != "stuck" else "healthy"
    records = json.loads((tmp_path / sweep / "summary.json").read_text())
    records[0]["verdict"] = other  # one seed disagrees
    write_sweep(tmp_path / sweep, records)
    problems = check_evidence(builtin_bank, tmp_path)
    assert problems and all(f"kl_coef={beta:g} -> {verdict}' is not confirmed" in p.message
                            for p in problems)  # fmt: skip
    result = run_cli("bank", "validate", "--seeds", "2", "--evidence", str(tmp_path))
    assert result.returncode == 2 and "is not confirmed" in result.stderr


def test_missing_or_malformed_sweeps_are_reported(builtin_bank, tmp_path):
    problems = check_evidence(builtin_bank, tmp_path)
    assert problems and all("no summary.json for sweep" in p.message for p in problems)
    sweep = next(iter(claims(builtin_bank)))
    write_sweep(tmp_path / sweep, [{"kl_coef": 0.0, "seed": 1, "verdict": "exploded"}])
    problems = check_evidence(builtin_bank, tmp_path)
    assert problems and "invalid sweep summary: 0.verdict" in problems[0].message
