"""What importing some modules drags in, seen from a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def heavy_imports(modules: str, banned: tuple[str, ...]) -> list[str]:
    """The ``banned`` modules found in ``sys.modules`` after ``import {modules}`` in a new
    Python process (the CLI must stay fast: heavy imports belong inside functions)."""
    code = (
        f"import sys, {modules};"
        f"print(','.join(m for m in {banned!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]
