"""``occlab run``: everything on one machine with no system services, for ``make run``.

SQLite in the instance folder, the bundled Redis on a Unix socket (unless REDIS_URL is set),
migrations, a demo account, one worker and the web server as child processes, and the seed's
toy paper submitted through the API so a result is waiting. Each child runs in a process group
of its own: Ctrl-C at the terminal reaches only the launcher, which then stops every child's
whole group (gunicorn and Celery fork) in order, so nothing is left running.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from shared.cli.errors import fail, settings_or_fail
from shared.config import Settings, instance_secret_key, secret_key_problem
from shared.units import DEFAULT_UNIT_OPTIONS

DEMO_EMAIL = "demo@example.org"
DEMO_TEAM = "Demo"
TOY_PAPER = {
    "title": "Exploration of humans, society and R",
    "abstract": "We used methods and techniques to do stuff. Weber Freud and vocabulary "
    "acquisition were explored. Then we did more stuff. Our code can be found on Github.",
}
Echo = Callable[[str], None]


class LaunchError(RuntimeError):
    """The launcher cannot go on; the message says what failed and where to look."""


class Stop(Exception):
    """Raised by the signal handlers so that ``finally`` blocks stop the children."""


@dataclass
class Supervisor:
    """Child processes, each leading its own process group, all stopped together."""

    env: dict[str, str]
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, process_group=0)
        self.children.append((name, proc))
        return proc

    def exited(self) -> tuple[str, int] | None:
        """The first child that has ended, and its exit status; children should not end."""
        for name, proc in self.children:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self, timeout_s: float = 10.0) -> None:
        """SIGTERM every group, newest first (web before worker); SIGKILL what outlives it."""
        for _, proc in reversed(self.children):
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for _, proc in self.children:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
        for _, proc in self.children:
            # Also catches a group's grandchildren that ignored SIGTERM after their parent left.
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        self.children.clear()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the whole group has already gone
        os.killpg(pgid, sig)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP (its terminal closed) into :class:`Stop` while
    inside, restoring handlers after."""

    stopping = False

    def handler(signum: int, _frame: Any) -> None:
        # Only the first signal interrupts: a second Ctrl-C must not cut the shutdown short.
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stop(signal.Signals(signum).name)

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def wait_for_stop(supervisor: Supervisor, poll_s: float = 0.5) -> int:
    """Block until a signal (exit status 0) or until a child ends on its own (status 1)."""
    try:
        while (gone := supervisor.exited()) is None:
            time.sleep(poll_s)
    except Stop:
        return 0
    name, code = gone
    print(f"error: the {name} process exited with status {code}; stopping", file=sys.stderr)
    return 1


def occlab_argv(*args: str) -> list[str]:
    # The running interpreter, not whatever `occlab` is first on PATH.
    return [sys.executable, "-m", "shared.cli", *args]


def wait_for_health(url: str, supervisor: Supervisor, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (gone := supervisor.exited()) is not None:
            raise LaunchError(f"the {gone[0]} process exited with status {gone[1]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise LaunchError(f"the web server did not answer {url} within {timeout_s:.0f} s")


def ensure_demo_account(settings: Settings) -> dict[str, str]:
    """The demo user and a token, created on the first run and kept in demo-credentials.txt.

    The file is the only copy of the password and token (the database keeps hashes), so a run
    that finds it missing or stale gives the demo user a fresh password and token.
    """
    from shared.accounts import (
        authenticate_token,
        create_token,
        create_user,
        find_user,
        hash_password,
    )
    from shared.db import session_scope

    path = settings.instance_dir / "demo-credentials.txt"
    saved = _read_credentials(path)
    with session_scope(settings.database_url) as session:
        user = find_user(session, DEMO_EMAIL)
        if user is not None and saved and authenticate_token(session, saved["token"]):
            return saved
        password = secrets.token_urlsafe(12)
        if user is None:
            user = create_user(session, DEMO_EMAIL, password, DEMO_TEAM)
        else:
            user.password_hash = hash_password(password)
        _, plain = create_token(session, user, name="occlab run")
    creds = {"email": DEMO_EMAIL, "password": password, "token": plain}
    path.write_text("".join(f"{k}: {v}\n" for k, v in creds.items()), encoding="utf-8")
    path.chmod(0o600)
    return creds


def _read_credentials(path: Path) -> dict[str, str] | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    creds = dict(line.split(": ", 1) for line in lines if ": " in line)
    return creds if {"email", "password", "token"} <= creds.keys() else None


def submit_toy_paper(settings: Settings, server: str, token: str) -> str:
    """Send the seed's toy paper through the API, as a user would; returns the job's page."""
    from shared.client import submit_file

    path = settings.instance_dir / "toy-paper.jsonl"
    path.write_text(json.dumps(TOY_PAPER) + "\n", encoding="utf-8")
    job = submit_file(server, token, path, dict(DEFAULT_UNIT_OPTIONS))
    return f"{server.rstrip('/')}/jobs/{job['id']}"


def child_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The children's environment: this instance's services and a real SECRET_KEY (the
    caller's when set, else the instance's own), since the web refuses to run without."""
    key = settings.secret_key
    if secret_key_problem(key):
        key = instance_secret_key(settings.instance_dir)
    return {
        **os.environ,
        "OCCLAB_INSTANCE": str(settings.instance_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": key,
    }


@contextmanager
def redis_for(settings: Settings, echo: Echo) -> Iterator[str]:
    """REDIS_URL's server when set; otherwise the bundled one, stopped on the way out."""
    from shared.cli.embedded import start_redis, stop

    if os.environ.get("REDIS_URL"):
        yield settings.redis_url
        return
    # Ignored signals survive exec: Ctrl-C must not kill Redis before the worker has let go.
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc, url = start_redis(settings.instance_dir)
    finally:
        signal.signal(signal.SIGINT, old)
    echo(f"started the bundled Redis on {url}")
    try:
        yield url
    finally:
        stop(proc)


def launch(settings: Settings, host: str, port: int, echo: Echo) -> int:
    """Start everything, report how to log in, and wait for Ctrl-C; returns the exit status."""
    from shared.client import ClientError
    from shared.registry.catalog import prepare_database

    with stop_on_signals():
        try:
            prepare_database(settings)
            creds = ensure_demo_account(settings)
            with redis_for(settings, echo) as redis_url:
                supervisor = Supervisor(child_env(settings, redis_url))
                try:
                    _serve(settings, supervisor, host, port, creds, echo)
                    return wait_for_stop(supervisor)
                finally:
                    supervisor.stop_all()
        except Stop:
            return 0
        except ClientError as exc:
            raise LaunchError(f"submitting the toy paper: {exc}") from exc


def _serve(
    settings: Settings, sup: Supervisor, host: str, port: int, creds: dict[str, str], echo: Echo
) -> None:
    server = f"http://{host}:{port}"
    sup.start("worker", occlab_argv("worker"))
    sup.start("web", occlab_argv("web", "--host", host, "--port", str(port)))
    wait_for_health(f"{server}/healthz", sup)
    echo(f"Occlusion Lab is running at {server}/")
    echo(f"log in as {creds['email']} with password {creds['password']}")
    echo(f"(kept in {settings.instance_dir / 'demo-credentials.txt'}, with an API token)")
    echo(f"the toy paper's job: {submit_toy_paper(settings, server, creds['token'])}")
    echo("press Ctrl-C to stop")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def run_command(host: str, port: int) -> None:
    """Run everything on this machine: database, Redis, a worker and the web server."""
    try:
        sys.exit(launch(settings_or_fail(), host, port, echo=click.echo))
    except LaunchError as exc:
        fail(str(exc))
