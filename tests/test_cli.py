"""The console script: fast help, no heavy imports, python -m, the demo."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch", "transformers", "sentence_transformers", "matplotlib", "numpy",
    "sqlalchemy", "fastapi", "uvicorn", "httpx", "alembic",
)  # fmt: skip


def test_importing_the_cli_leaves_heavy_libraries_out():
    code = (
        "import sys, json; import alignquiz.cli as c; "
        "c.root.main(['--help'], standalone_mode=False); "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_python_dash_m_and_version(run_cli):
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("bank", "quiz", "demo"):
        assert command in result.stdout
    assert run_cli("--version").stdout.strip().endswith("0.1.0")


def test_unknown_command_is_a_usage_error(run_cli):
    result = run_cli("no-such-command")
    assert result.returncode == 2 and "No such command" in result.stderr


def test_demo_runs_the_loop_and_says_where(tmp_path, run_cli, builtin_bank):
    result = run_cli("demo", "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert f"{len(builtin_bank)} items" in result.stdout and str(tmp_path / "demo") in result.stdout
    assert (tmp_path / "demo" / "students" / "s001.html").is_file()
    report = tmp_path / "demo" / "report" / "index.html"
    assert report.is_file() and str(report) in result.stdout
    assert (tmp_path / "demo" / "report" / "students" / "s001.html").is_file()
    assert str(tmp_path / "demo" / "private" / "gradebook.db") in result.stdout
    again = run_cli("demo", "--out", str(tmp_path / "demo"))  # re-running replaces its own quiz
    assert again.returncode == 0, again.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    refused = run_cli("demo", "--out", str(tmp_path / "mine"))
    assert refused.returncode == 2 and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
