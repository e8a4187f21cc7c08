"""The web app's service clients, created unbound here and bound to an app in ``create_app``.

This is the Flask extension pattern: the objects below hold no connection themselves; each
app keeps its own in ``app.extensions``, so tests can build many apps with different
settings in one process. None of them imports the worker, the engine or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import redis
from celery import Celery
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts.limits import AttemptLimiter
from shared.config import Settings
from shared.db import session_factory
from shared.jobs.dispatch import make_celery
from shared.results.cache import ViewCache, namespace_for

SETTINGS = "occlab.settings"


def settings() -> Settings:
    return cast(Settings, current_app.extensions[SETTINGS])


class Database:
    """A ``sessionmaker`` per app and one session per request, opened on first use."""

    key = "occlab.db"

    def init_app(self, app: Flask, settings: Settings) -> None:
        app.extensions[self.key] = session_factory(settings.database_url)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return cast("sessionmaker[Session]", current_app.extensions[self.key])

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self.sessions()
        return cast(Session, g.db_session)

    def close_session(self, _exc: BaseException | None = None) -> None:
        # Closing rolls back whatever the request did not commit, errors included.
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


class CeleryClient:
    """A bare Celery app: it sends tasks by name and never imports the worker's tasks.

    Every task the web sends goes through ``app.extensions[key]``, so a test can put a
    stand-in there (tests/fixtures/web.py ``broker``) to watch the sends or fail them."""

    key = "occlab.celery"

    def init_app(self, app: Flask, settings: Settings) -> None:
        app.extensions[self.key] = make_celery(settings, name="occlab-web")

    @property
    def app(self) -> Celery:
        return cast(Celery, current_app.extensions[self.key])


class Cache:
    key = "occlab.cache"

    def init_app(self, app: Flask, settings: Settings, namespace: str | None = None) -> None:
        app.extensions[self.key] = ViewCache.from_settings(settings, namespace)

    @property
    def views(self) -> ViewCache:
        return cast(ViewCache, current_app.extensions[self.key])


@dataclass(frozen=True)
class LoginLimiters:
    pair: AttemptLimiter  # failed logins per (email, address)
    address: AttemptLimiter  # failed logins per address
    signup: AttemptLimiter  # accounts created per address


class Limits:
    """The login and sign-up limiters, on a Redis client of their own: the view cache's
    gives up after half a second (a miss costs a render), but a limiter that gives up
    falls back to counting in one process, which lets a guesser spread over workers."""

    key = "occlab.limits"
    timeout_s = 2.0

    def init_app(self, app: Flask, settings: Settings, namespace: str | None = None) -> None:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
        )
        # The view cache's prefix: one deployment's (or test's) keys, cleared together.
        prefix = f"occlab:{namespace or namespace_for(settings.database_url)}"
        config, window = app.config, app.config.get("LOGIN_WINDOW_S", 15 * 60)
        app.extensions[self.key] = LoginLimiters(
            pair=AttemptLimiter(client, f"{prefix}:login-fail",
                                config.get("LOGIN_MAX_FAILURES", 5), window),
            address=AttemptLimiter(client, f"{prefix}:login-fail-ip",
                                   config.get("LOGIN_MAX_FAILURES_PER_IP", 50), window),
            signup=AttemptLimiter(client, f"{prefix}:signup-ip",
                                  config.get("SIGNUP_MAX_PER_IP", 10),
                                  config.get("SIGNUP_WINDOW_S", 60 * 60)),
        )  # fmt: skip

    @property
    def login(self) -> LoginLimiters:
        return cast(LoginLimiters, current_app.extensions[self.key])


db = Database()
celery = CeleryClient()
cache = Cache()
limits = Limits()
