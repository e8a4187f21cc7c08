"""The Flask application factory: ``create_app()`` builds a configured app.

Settings are read when the app is built (never at import), so ``occlab web``, gunicorn and
the tests each build an app for their own environment. The web process reads SQL and sends
tasks by name; it never imports torch, gensim or ``shared.engine`` (an import-linter
contract and tests/web/test_app.py hold it to that).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import Settings, load_settings, secret_key_problem
from web.api import api
from web.errors import register_error_handlers
from web.extensions import SETTINGS, cache, celery, db, limits
from web.health import health
from web.pages import register_pages
from web.params import IdConverter
from web.security import exempt_api_from_csrf, init_security
from web.session import init_login


class MissingSecretKey(RuntimeError):
    """The app would sign session cookies with a key anyone can know."""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """``test_config`` overrides Flask config; its ``SETTINGS`` (a :class:`Settings`)
    replaces the environment's, and ``CACHE_NAMESPACE`` the view cache's key prefix.

    Raises :class:`MissingSecretKey` when SECRET_KEY is unset (or the old default) unless
    ``TESTING`` is set: with a known key anyone could forge a logged-in session.
    """
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
    check_secret_key(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented key order
    app.extensions[SETTINGS] = settings
    register_extensions(app, settings)
    register_blueprints(app)
    register_error_handlers(app)
    register_teardown(app)
    trust_proxies(app, settings.proxy_hops)
    return app


def trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies (OCCLAB_PROXY_HOPS), take the client's address and
    scheme from their X-Forwarded-* headers: else every client has the proxy's address and
    shares its login rate limit. Exactly ``hops``: trusting more would let clients spoof."""
    if hops > 0:
        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]


def check_secret_key(app: Flask) -> None:
    problem = secret_key_problem(str(app.config.get("SECRET_KEY") or ""))
    if problem and not app.config.get("TESTING"):
        raise MissingSecretKey(problem)


def register_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app, settings)
    celery.init_app(app, settings)
    cache.init_app(app, settings, app.config.get("CACHE_NAMESPACE"))
    limits.init_app(app, settings, app.config.get("CACHE_NAMESPACE"))
    init_security(app)  # cookie flags, CSRF (the API exempt), security headers
    init_login(app)


def register_blueprints(app: Flask) -> None:
    # ``<id:...>``: a row id (Werkzeug's ``int`` capped at INTEGER), before any rule uses it.
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(api)
    app.register_blueprint(health)
    register_pages(app)
    exempt_api_from_csrf(app)


def register_teardown(app: Flask) -> None:
    app.teardown_appcontext(db.close_session)
