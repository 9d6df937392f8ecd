"""A rich progress bar on stderr for long instructor commands (silent off a terminal).

``grade`` and ``demo`` hand its ``start`` and ``advance`` to the work as callbacks, so
the work itself knows nothing of rich::

    with progress_bar("grading") as bar:
        grade_pending(book, on_start=bar.start, on_progress=bar.advance)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Bar", "progress_bar"]


class Bar:
    """One task of a rich ``Progress`` (or nothing, when ``progress`` is None)."""

    def __init__(self, progress, description: str):
        self.progress = progress
        self.description = description
        self.task = None

    def start(self, total: int, description: str | None = None) -> None:
        """Begin (or begin again) with ``total`` steps."""
        if self.progress is None:
            return
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(description or self.description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, steps)


@contextmanager
def progress_bar(description: str, *, quiet: bool = False) -> Iterator[Bar]:
    """A :class:`Bar` drawn on stderr when it is a terminal and ``quiet`` is False."""
    if quiet or not sys.stderr.isatty():
        yield Bar(None, description)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    )  # fmt: skip
    with progress:
        yield Bar(progress, description)
