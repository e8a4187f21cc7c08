"""Operator commands: migrate the database, add people and API tokens, requeue orphans.

Heavy imports (SQLAlchemy, Alembic, argon2) happen inside the commands so that
`occlab --help` stays fast."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from shared.cli.errors import fail, settings_or_fail

if TYPE_CHECKING:
    pass


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied (creates the SQLite file if needed)."""
    from shared.manifest import ModelFileError
    from shared.registry.catalog import prepare_database
    from shared.units import InputError

    try:
        head = prepare_database(settings_or_fail())
    except (ModelFileError, InputError) as exc:
        fail(f"the database is migrated, but the default model was not registered: {exc}")
    click.echo(f"database at revision {head}; the default model is registered")


@click.group()
def user() -> None:
    """People and their teams."""


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def read_password() -> str:
    """Asked twice, hidden, at a terminal; one line from a pipe, so scripts can provision."""
    if _stdin_is_tty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@user.command("add")
@click.argument("email")
@click.option("--team", required=True, help="Team to join; created, with them as owner, if new.")
def user_add(email: str, team: str) -> None:
    """Add a person; the password is read from standard input."""
    from shared.accounts import AccountError, create_user, teams_of
    from shared.db import session_scope

    password = read_password()
    try:
        with session_scope(settings_or_fail().database_url) as session:
            person = create_user(session, email, password, team)
            label = ", ".join(t.name for t in teams_of(session, person))
            click.echo(f"added {person.email} to {label}")
    except AccountError as exc:
        fail(str(exc))


@click.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--team", "team_name", help="Team the token acts for (default: their first).")
@click.option("--name", default="", help="A label to recognise the token by.")
def token_create(email: str, team_name: str | None, name: str) -> None:
    """Create an API token and print it; it is stored hashed and cannot be shown again."""
    from sqlalchemy import select

    from shared.accounts import AccountError, create_token, find_user
    from shared.db import session_scope
    from shared.models import Team

    try:
        with session_scope(settings_or_fail().database_url) as session:
            person = find_user(session, email)
            if person is None:
                fail(f"no user {email}; add one with: occlab user add {email} --team NAME")
            team = None
            if team_name is not None:
                team = session.scalar(select(Team).filter_by(name=team_name))
                if team is None:
                    fail(f"no team named {team_name!r}")
            _, plain = create_token(session, person, team, name)
    except AccountError as exc:
        fail(str(exc))
    click.echo(plain)
    click.echo("Keep it now: only its hash is stored, so it cannot be shown again.", err=True)


@click.command("requeue")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a running result must have gone without a heartbeat, or a pending one "
    "unclaimed with the queues empty [default: OCCLAB_LOST_AFTER].",
)
def requeue_command(older_than: float | None) -> None:
    """Send the results of live jobs that no task will compute: jobs never sent (the queue
    was down at submit, sent now), results whose worker died (left by a crash).

    Workers do this by themselves every OCCLAB_REAP_INTERVAL; this does it at once."""
    from shared.jobs.dispatch import make_celery
    from shared.jobs.requeue import requeue_orphans

    settings = settings_or_fail()
    app = make_celery(settings)
    try:
        sent = requeue_orphans(settings, app, older_than, unsent_after_s=0)
    finally:
        app.close()
    n = sum(len(ids) for ids in sent.values())
    click.echo(f"requeued {n} result(s) of {len(sent)} job(s)")
