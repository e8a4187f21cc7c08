"""``occlab web``: serve the app with gunicorn, or Flask's reloading dev server (``--dev``).

Registered as an ``occlab.commands`` entry point; importing this module loads neither Flask
views nor the engine, so ``occlab --help`` stays fast.
"""

from __future__ import annotations

import os
from typing import Any

import click


def _serve_gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from web.app import create_app

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # One app per worker, built after the fork: a pooled database connection or a
            # Redis socket must never be shared between processes.
            self.cfg.set("preload_app", False)

        def load(self) -> Any:
            return create_app()

    Server().run()


def _gunicorn_available() -> bool:
    try:
        import gunicorn  # noqa: F401  - absent on Windows, where it cannot run
    except ImportError:
        return False
    return True


def _ensure_secret_key(dev: bool) -> None:
    """Refuse to serve with a known session key, in one line, before any worker starts.

    The dev server may run without one: it then uses the instance's own random key (the
    one ``occlab run`` makes), set in the environment so the reloader's child shares it.
    """
    from shared.config import instance_secret_key, load_settings, secret_key_problem

    settings = load_settings()
    problem = secret_key_problem(settings.secret_key)
    if problem and dev:
        os.environ["SECRET_KEY"] = instance_secret_key(settings.instance_dir)
    elif problem:
        raise click.ClickException(problem)


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--dev", is_flag=True, help="Flask's debug server, reloading on code changes.")
def web_command(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web API (settings from the environment: DATABASE_URL, REDIS_URL...)."""
    _ensure_secret_key(dev)
    if not dev and _gunicorn_available():
        _serve_gunicorn(host, port, workers)
        return
    if not dev:
        click.echo("gunicorn is not installed: serving with Flask's dev server", err=True)
    from web.app import create_app

    create_app().run(host=host, port=port, debug=dev, use_reloader=dev)
