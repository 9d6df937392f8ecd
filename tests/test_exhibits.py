"""Evidence students see: the shipped pack (real runs), the items that show it, and how
it reaches the student view (HTML data URI, Markdown link, quiz.json by file name)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from questions.evidence import check_evidence, load_sweep
from questions.exhibits import PACKS, figure_bytes, load_exhibit, pack_dir
from questions.models import EvidenceLink, MultipleChoiceItem
from questions.quizdir import read_quiz

PNG = b"\x89PNG\r\n\x1a\n"
# what a caption or alt text must never say: the verdict, or the beta it asks for
GIVEAWAYS = re.compile(
    r"hack|healthy|stuck|too (?:low|high|weak|strong)|beta|β|kl_coef|kl coefficient|"
    r"over-?optimi|degenerat|collaps|fluent|gam(?:ed|ing)|exploit",
    re.IGNORECASE,
)


def shown(bank) -> list:
    return [i.spec for i in bank.items.values()
            if i.spec.evidence is not None and i.spec.evidence.show != "none"]  # fmt: skip


def test_the_shipped_pack_confirms_every_claim_with_real_runs(builtin_bank):
    runs = load_sweep(PACKS, "beta-sweep")
    assert {r.kl_coef for r in runs} >= {0.0, 0.3, 3.0} and len(runs) >= 9
    assert all(r.final and r.seconds > 0 for r in runs)  # real runs, not a stub
    assert check_evidence(builtin_bank, PACKS) == []


def test_validate_with_evidence_alone_uses_the_shipped_pack(run_cli):
    result = run_cli("bank", "validate", "--seeds", "1", "--evidence")
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_pack_files_are_small_pngs_of_real_runs():
    pack = pack_dir("beta-sweep")
    manifest = json.loads((pack / "manifest.json").read_text())
    summary = load_sweep(PACKS, "beta-sweep")
    for name, runs in manifest["figures"].items():
        data = (pack / name).read_bytes()
        assert data.startswith(PNG) and len(data) < 150_000, name
        for run in runs:  # each figure's run ended as its verdict says
            (record,) = [r for r in summary
                         if r.kl_coef == run["kl_coef"] and r.seed == run["seed"]]  # fmt: skip
            assert record.verdict == run["verdict"]
            assert not GIVEAWAYS.search(run["label"]), run["label"]
    for beta in {r.kl_coef for r in summary}:
        history = json.loads((pack / "history" / f"beta-{beta:g}.json").read_text())
        assert len(history["steps"]) >= 50 and "objective/kl" in history["metrics"]


def test_at_least_four_items_show_evidence_and_ask_for_a_diagnosis(builtin_bank):
    items = shown(builtin_bank)
    assert len(items) >= 4
    assert {i.evidence.show for i in items} == {"plot", "samples"}
    for spec in items:
        assert spec.evidence.claims, spec.id  # what is shown is backed by checked claims
        assert "?" in spec.prompt and re.search(r"diagnos|cause|which|change", spec.prompt,
                                                re.IGNORECASE), spec.id  # fmt: skip
        exhibit = load_exhibit(spec.evidence)
        assert exhibit is not None and exhibit.caption
        if exhibit.figure:
            assert figure_bytes(exhibit).startswith(PNG)
        else:
            assert exhibit.samples and all(g.texts for g in exhibit.samples)


def test_captions_never_give_the_diagnosis_away(builtin_bank):
    for spec in shown(builtin_bank):
        assert not GIVEAWAYS.search(spec.evidence.caption), (spec.id, spec.evidence.caption)
        if isinstance(spec, MultipleChoiceItem) and spec.evidence.show == "plot":
            correct = [o.text for o in spec.options if o.correct]
            assert all(c not in spec.evidence.caption for c in correct)


def test_a_shown_link_must_name_what_it_shows():
    with pytest.raises(ValueError, match="needs a figure"):
        EvidenceLink(sweep="beta-sweep", show="plot", caption="c")
    with pytest.raises(ValueError, match="needs samples"):
        EvidenceLink(sweep="beta-sweep", show="samples", caption="c")
    with pytest.raises(ValueError, match="caption"):
        EvidenceLink(sweep="beta-sweep", show="plot", figure="run-a.png")
    with pytest.raises(ValueError):
        EvidenceLink(sweep="beta-sweep", show="plot", figure="../x.png", caption="c")
    from questions.errors import BankError

    with pytest.raises(BankError, match="not in the pack"):
        load_exhibit(EvidenceLink(sweep="beta-sweep", show="plot", figure="nope.png",
                                  caption="c"))  # fmt: skip


@pytest.fixture(scope="module")
def quiz_dir(tmp_path_factory):
    from questions.cli import build_quiz

    base = tmp_path_factory.mktemp("exhibits")
    roster = base / "roster.csv"
    roster.write_text("student_id,name,email\n" + "".join(
        f"s{i},S {i},s{i}@example.edu\n" for i in range(1, 4)), encoding="utf-8")  # fmt: skip
    return build_quiz(roster, 3, base / "quiz", None, (), "Evidence", False)


def test_student_views_carry_the_evidence(quiz_dir):
    quiz = read_quiz(quiz_dir)
    figures = {v.exhibit.figure: figure_bytes(v.exhibit) for vs in quiz.variants.values()
               for v in vs if v.exhibit and v.exhibit.figure}  # fmt: skip
    assert len(figures) >= 3
    folder = quiz_dir / "students" / "figures"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == figures  # one copy each
    view = json.loads((quiz_dir / "quiz.json").read_text())
    for paper in view["papers"]:
        named = {i["exhibit"]["figure"] for i in paper["items"] if i["exhibit"]}
        assert set(figures) <= named
        sid = paper["student_id"]
        html = (quiz_dir / "students" / f"{sid}.html").read_text()
        uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"',
                          html)  # fmt: skip
        assert sorted(base64.b64decode(u) for u, _ in uris) == sorted(figures.values())
        assert all(alt and not GIVEAWAYS.search(alt) for _, alt in uris)
        assert "<table class=\"samples\">" in html and "<q>" in html
        md = (quiz_dir / "students" / f"{sid}.md").read_text()
        for name in figures:
            assert f"](figures/{name})" in md
        assert "| step | sampled text |" in md and "base64" not in md


def test_the_pack_script_rebuilds_a_pack_from_a_sweep_folder(tmp_path):
    """bench/make_evidence_pack.py on a small synthetic sweep (the real one takes minutes):
    every file is made, figures are small PNGs, the summary is copied as is."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "make_evidence_pack.py"
    spec = importlib.util.spec_from_file_location("make_evidence_pack", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    sweep = tmp_path / "sweep"
    (sweep / "runs").mkdir(parents=True)
    summary = []
    for beta in (0.0, 0.03, 0.3, 3.0):
        verdict = {0.0: "reward_hacking", 0.03: "reward_hacking", 0.3: "healthy"}.get(beta, "stuck")
        history = [{m: (1 + i) / (1 + beta) for m in script.METRICS} for i in range(40)]
        run = {"kl_coef": beta, "seed": 1, "verdict": verdict, "seconds": 1.0, "final": {},
               "history": history,
               "samples": [{"step": s, "texts": [f"text {s} a", f"text {s} b"]}
                           for s in (1, 100, 300)]}  # fmt: skip
        (sweep / "runs" / f"beta-{beta:g}-seed-1.json").write_text(json.dumps(run))
        summary.append({k: run[k] for k in ("kl_coef", "seed", "verdict", "seconds", "final")})
    (sweep / "summary.json").write_text(json.dumps(summary))
    out = tmp_path / "pack"
    sizes = script.make_pack(sweep, out)
    assert set(script.FIGURES) <= set(sizes) and "samples.json" in sizes
    assert json.loads((out / "summary.json").read_text()) == summary
    for name in script.FIGURES:
        assert (out / name).read_bytes().startswith(PNG) and sizes[name] < 150_000
    samples = json.loads((out / "samples.json").read_text())
    assert samples["run-s"][0] == {"step": 1, "texts": ["text 1 a", "text 1 b"]}
