"""``python -m shared.cli``: the ``occlab`` command, for subprocesses and tests."""

from shared.cli import run

run()
