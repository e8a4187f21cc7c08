"""Service commands of ``occlab``: migrate the database, add people and tokens, submit files to a
server, and ``occlab run``, the all-in-one launcher for a fresh machine.

Heavy imports (SQLAlchemy, Alembic, argon2, tqdm) happen inside the commands so that
``occlab --help`` stays fast; the HTTP client is the standard library's, so ``occlab submit``
works from any machine that has the package, with no server-side code involved.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from shared.config import Settings

FINAL_STATUSES = ("done", "failed", "cancelled")
MAX_PROBLEMS_SHOWN = 5


def fail(message: str) -> NoReturn:
    # Imported late: shared.cli imports this module to register its commands.
    from shared.cli import BadInput

    raise BadInput(message)


def settings_or_fail() -> Settings:
    from shared.config import load_settings

    try:
        return load_settings()
    except ValueError as exc:
        fail(str(exc))


def upgrade_database(settings: Settings) -> str:
    """Migrate ``settings.database_url`` to the newest revision; returns that revision."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from shared.config import ROOT

    if settings.database_url.startswith("sqlite"):
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolates '%', which URL-encoded passwords contain.
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(cfg, "head")
    return str(ScriptDirectory.from_config(cfg).get_current_head())


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied (creates the SQLite file if needed)."""
    head = upgrade_database(settings_or_fail())
    click.echo(f"database at revision {head}")


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


class ApiError(Exception):
    """The server refused, or could not be reached; the message is ready for the user."""


def describe_http_error(exc: urllib.error.HTTPError) -> str:
    """The server's JSON ``error`` and first ``problems``, on one line."""
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    message = f"{body.get('error') or exc.reason} (HTTP {exc.code})"
    problems = body.get("problems") or []
    shown = [_problem(p) for p in problems[:MAX_PROBLEMS_SHOWN] if isinstance(p, dict)]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return "; ".join([message, *shown])


def _problem(problem: dict[str, Any]) -> str:
    """``line 3 abstract: ...`` for files, ``paper 3 ...`` for JSON; either may be absent."""
    where = [
        f"line {problem['line']}" if problem.get("line") else "",
        f"paper {problem['index']}" if problem.get("index") and not problem.get("line") else "",
        str(problem.get("field") or ""),
    ]
    label = " ".join(w for w in where if w)
    return f"{label}: {problem.get('error')}" if label else str(problem.get("error"))


def api_call(
    url: str, token: str, data: bytes | None = None, content_type: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        raise ApiError(describe_http_error(exc)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiError(f"cannot reach {url}: {reason}") from exc
    except ValueError as exc:
        raise ApiError(f"{url} did not answer with JSON; is --server right?") from exc


def encode_multipart(fields: dict[str, str], path: Path) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``fields`` and the file as part ``file``."""
    boundary = f"occlab-{uuid.uuid4().hex}"
    filename = path.name.replace('"', "%22").replace("\r", "").replace("\n", "")
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    parts.append(head.encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def submit_file(server: str, token: str, path: Path, fields: dict[str, str]) -> dict[str, Any]:
    """Upload a CSV/JSONL file as a new job; returns the server's job object."""
    body, content_type = encode_multipart(fields, path)
    job = api_call(f"{server.rstrip('/')}/api/v1/jobs", token, body, content_type)
    return dict(job.get("job", job))  # accept a bare job object or one wrapped as {"job": ...}


def job_url(server: str, job: dict[str, Any]) -> str:
    # The server answers with a path (``/api/v1/jobs/7``); make it one a person can open.
    return urllib.parse.urljoin(
        server.rstrip("/") + "/", job.get("url") or f"api/v1/jobs/{job['id']}"
    )


def follow_job(server: str, token: str, job: dict[str, Any], interval_s: float = 0.5) -> str:
    """Poll the job, drawing a progress bar on stderr, until it ends; returns its status."""
    from tqdm import tqdm

    url = f"{server.rstrip('/')}/api/v1/jobs/{job['id']}"
    with tqdm(total=job.get("total") or None, unit="paper", desc=f"job {job['id']}") as bar:
        while True:
            state = api_call(url, token)
            state = dict(state.get("job", state))
            bar.total = state.get("total") or bar.total
            bar.n = int(state.get("done", 0)) + int(state.get("failed", 0))
            bar.set_postfix(status=state.get("status"), failed=state.get("failed", 0))
            if state.get("status") in FINAL_STATUSES:
                return str(state["status"])
            time.sleep(interval_s)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", required=True, envvar="OCCLAB_SERVER", help="e.g. http://host:5000")
@click.option("--token", "api_token", required=True, envvar="OCCLAB_TOKEN", help="API token.")
@click.option("--model", help="name or name:version (default: the server's default model).")
@click.option("--title-unit", type=click.Choice(["word", "sentence"]), default="word")
@click.option("--abstract-unit", type=click.Choice(["word", "sentence"]), default="sentence")
@click.option("--wait/--no-wait", default=True, help="Follow the job until it ends.")
def submit(
    file: Path, server: str, api_token: str, model: str | None, wait: bool, **units: str
) -> None:
    """Submit a CSV/JSONL file of papers to a server and follow the job."""
    fields = {**units, **({"model": model} if model else {})}
    try:
        job = submit_file(server, api_token, file, fields)
        click.echo(f"job {job['id']}: {job_url(server, job)}")
        status = follow_job(server, api_token, job) if wait else str(job.get("status"))
    except ApiError as exc:
        fail(str(exc))
    click.echo(f"job {job['id']} {status}")
    if status in ("failed", "cancelled"):
        sys.exit(1)


@click.command("requeue")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a result must have waited [default: the visibility timeout].",
)
def requeue_command(older_than: float | None) -> None:
    """Send again the results of live jobs that no task will compute (left by a crash).

    Workers do this by themselves every half visibility timeout; this does it at once."""
    from shared.queue import make_celery
    from shared.requeue import requeue_orphans

    settings = settings_or_fail()
    app = make_celery(settings)
    try:
        sent = requeue_orphans(settings, app, older_than)
    finally:
        app.close()
    n = sum(len(ids) for ids in sent.values())
    click.echo(f"requeued {n} result(s) of {len(sent)} job(s)")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def run_command(host: str, port: int) -> None:
    """Run everything on this machine: database, Redis, a worker and the web server."""
    from shared.launcher import LaunchError, launch

    try:
        sys.exit(launch(settings_or_fail(), host, port, echo=click.echo))
    except LaunchError as exc:
        fail(str(exc))
