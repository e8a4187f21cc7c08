"""The Flask application factory: ``create_app()`` builds a configured app.

Settings are read when the app is built (never at import), so ``occlab web``, gunicorn and
the tests each build an app for their own environment. The web process reads SQL and sends
tasks by name; it never imports torch, gensim or ``shared.engine`` (an import-linter
contract and tests/web/test_app.py hold it to that).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from shared.config import Settings, load_settings
from web.api import api
from web.errors import register_error_handlers
from web.extensions import SETTINGS, cache, celery, db
from web.health import health
from web.login import exempt_api_from_csrf, init_login
from web.pages import register_pages


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """``test_config`` overrides Flask config; its ``SETTINGS`` (a :class:`Settings`)
    replaces the environment's, and ``CACHE_NAMESPACE`` the view cache's key prefix."""
    config = dict(test_config or {})
    settings: Settings = config.pop("SETTINGS", None) or load_settings()
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        # Werkzeug answers a bigger body with 413 before a view reads it.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_upload_bytes,
    )
    app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented key order
    app.extensions[SETTINGS] = settings
    register_extensions(app, settings)
    register_blueprints(app)
    register_error_handlers(app)
    register_teardown(app)
    return app


def register_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app, settings)
    celery.init_app(app, settings)
    cache.init_app(app, settings, app.config.get("CACHE_NAMESPACE"))
    init_login(app)  # sessions, CSRF (the API exempt) and security headers


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(health)
    register_pages(app)
    exempt_api_from_csrf(app)


def register_teardown(app: Flask) -> None:
    app.teardown_appcontext(db.close_session)
