"""The composition root: one console script, ``alignquiz``, mounting the sub-apps of
``questions``, ``grader`` and ``simulator``. It holds no logic of its own beyond turning
an ``AssessmentError`` into one line on stderr and exit code 2."""

from __future__ import annotations

import click

from grader import cli as grader_cli
from questions import cli as questions_cli
from questions.errors import AssessmentError
from simulator import cli as simulator_cli

__all__ = ["main", "root"]


class _OneLineError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"alignquiz: error: {self.message}", err=True)


class _Root(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssessmentError as exc:
            raise _OneLineError(str(exc)) from None


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alignquiz")
def root() -> None:
    """Auto-graded assessments for teaching RLHF: PPO, the clip and the KL penalty."""


for _app in (questions_cli, grader_cli, simulator_cli):
    for _command in _app.COMMANDS:
        root.add_command(_command)


def main() -> None:
    root(prog_name="alignquiz")
