"""The web app's service clients, created unbound here and bound to an app in ``create_app``.

This is the Flask extension pattern: the objects below hold no connection themselves; each
app keeps its own in ``app.extensions``, so tests can build many apps with different
settings in one process. None of them imports the worker, the engine or torch.
"""

from __future__ import annotations

from typing import cast

from celery import Celery
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import session_factory
from shared.jobs.dispatch import make_celery
from shared.results.cache import ViewCache

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


db = Database()
celery = CeleryClient()
cache = Cache()
