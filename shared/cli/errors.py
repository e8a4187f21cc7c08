"""How the `occlab` commands fail: one line on stderr and exit status 2 when the input, not
the program, needs fixing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from shared.config import Settings


class BadInput(click.ClickException):
    """A one-line error with exit status 2: the input, not the program, needs fixing."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def fail(message: str) -> NoReturn:
    raise BadInput(message)


def settings_or_fail() -> Settings:
    from shared.config import load_settings

    try:
        return load_settings()
    except ValueError as exc:
        fail(str(exc))
