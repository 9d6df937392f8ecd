"""The ``sim`` commands: light to import, one-line errors with exit 2, real runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from simulator.cli import COMMANDS, sim
from simulator.errors import SimulatorError


def test_importing_the_simulator_leaves_torch_out() -> None:
    modules = (
        "cli config grammar losses plots policy pretrain reward reward_model sampling sweep train"
    )
    code = (
        "import importlib, sys; "
        f"[importlib.import_module('simulator.' + m) for m in {modules.split()!r}]; "
        "heavy = {'torch', 'transformers', 'matplotlib'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_commands_are_exposed_for_the_root() -> None:
    assert COMMANDS == [sim]
    assert set(sim.commands) >= {"pretrain", "run"}


BAD_RUNS = [
    (["--kl-coef", "-1"], "kl_coef must be >= 0"),
    (["--steps", "0"], "steps must be >= 1"),
    (["--device", "tpu"], "unknown device"),
]


@pytest.mark.parametrize(("args", "message"), BAD_RUNS)
def test_bad_input_raises_one_line_simulator_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(sim, ["run", *args])
    assert isinstance(result.exception, SimulatorError)  # the root CLI catches it
    assert message in str(result.exception)
    assert "\n" not in str(result.exception)


@pytest.mark.parametrize(("args", "message"), BAD_RUNS)
def test_bad_input_through_the_root_is_one_line_and_exit_2(args, message: str) -> None:
    from alignquiz.cli import root

    assert "sim" in root.commands
    result = CliRunner().invoke(root, ["sim", "run", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.strip().count("\n") == 0


def test_unknown_reward_is_exit_2() -> None:
    result = CliRunner().invoke(sim, ["run", "--reward", "vibes"])
    assert result.exit_code == 2


def test_pretrain_reports_the_cached_model(reference) -> None:
    result = CliRunner().invoke(sim, ["pretrain", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["grammatical_frac"] >= 0.95


@pytest.mark.slow
def test_run_writes_its_evidence(reference, tmp_path) -> None:
    args = ["run", "--steps", "2", "--batch-size", "8", "--device", "cpu", "--seed", "3",
            "--out", str(tmp_path), "--json"]  # fmt: skip
    result = CliRunner().invoke(sim, args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["verdict"] in {"reward_hacking", "healthy", "stuck"}
    run = json.loads((tmp_path / "run.json").read_text())
    assert len(run["history"]) == 2
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["seed"] == 3 and evidence["verdict"] == record["verdict"]


@pytest.mark.slow
def test_adaptive_run_plots_beta_and_kl(reference, tmp_path) -> None:
    args = ["run", "--adaptive", "--kl-coef", "0.01", "--steps", "3", "--batch-size", "8",
            "--device", "cpu", "--out", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(sim, args)
    assert result.exit_code == 0, result.output
    assert "verdict:" in result.output and "objective/kl_coef" in result.output
    assert (tmp_path / "adaptive.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kl-coef", "0,-1"], "kl_coef must be >= 0"),
        (["--seeds", "0"], "seeds must be >= 1"),
    ],
)
def test_bad_sweep_input_raises(args: list[str], message: str, tmp_path) -> None:
    result = CliRunner().invoke(sim, ["sweep", *args, "--out", str(tmp_path)])
    assert isinstance(result.exception, SimulatorError)
    assert message in str(result.exception)


def test_unparsable_betas_are_a_usage_error(tmp_path) -> None:
    result = CliRunner().invoke(sim, ["sweep", "--kl-coef", "a,b", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a comma-separated list" in result.output


@pytest.mark.slow
def test_sweep_command_writes_summary_and_plots(reference, tmp_path) -> None:
    args = ["sweep", "--kl-coef", "0,3", "--seeds", "1", "--steps", "2", "--batch-size", "8",
            "--workers", "1", "--device", "cpu", "--out", str(tmp_path), "--json"]  # fmt: skip
    result = CliRunner().invoke(sim, args)
    assert result.exit_code == 0, result.output
    assert [r["kl_coef"] for r in json.loads(result.output)] == [0.0, 3.0]
    assert (tmp_path / "summary.json").exists() and (tmp_path / "curves.png").exists()
