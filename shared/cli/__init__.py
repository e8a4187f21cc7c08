"""The ``occlab`` command line: one group, its commands by area, and plugins.

``engine`` trains, explains and benchmarks; ``models`` imports a model of one's own;
``admin`` migrates and provisions; ``submit`` sends files to a server; ``launch`` is
``occlab run``. The web and worker packages add ``occlab web`` and ``occlab worker`` as
``occlab.commands`` entry points, since ``shared`` never imports them. Each command imports
what is heavy inside itself, so ``--help`` is fast.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from shared.cli.admin import db, requeue_command, token, user
from shared.cli.engine import bench, explain, train
from shared.cli.errors import BadInput, fail
from shared.cli.launch import run_command
from shared.cli.models import model
from shared.cli.submit import export, submit

__all__ = ["BadInput", "fail", "main", "run"]


@click.group()
def main() -> None:
    """Occlusion Lab: see why a recurrent text classifier decides what it decides."""


for _command in (
    train, explain, bench, model, db, user, token, submit, export, run_command, requeue_command
):  # fmt: skip
    main.add_command(_command)


def _register_plugins() -> None:
    for ep in entry_points(group="occlab.commands"):
        main.add_command(ep.load(), ep.name)


def run() -> None:
    _register_plugins()
    main(prog_name="occlab")
