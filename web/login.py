"""Logins for the pages: Flask-Login sessions, CSRF on every form, and the team a user works in.

Pages import what they need from here::

    from web.login import current_team, current_team_id, current_user, is_owner, login_required

``current_user`` is the :class:`shared.models.User` (only inside ``login_required`` views);
``current_team_id()`` is the team the pages show, chosen with the switcher in the header
(``session["team_id"]``, checked against the user's memberships on every request). The JSON
API is exempt from CSRF: it authenticates with bearer tokens, never with the cookie.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Flask, Response, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, login_required
from flask_login import current_user as _current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from shared.models import Membership, Team, User
from web.extensions import SETTINGS, db
from web.params import positive_int

__all__ = [
    "csrf",
    "current_team",
    "current_team_id",
    "current_user",
    "exempt_api_from_csrf",
    "is_owner",
    "login_manager",
    "login_required",
    "safe_next",
]

login_manager = LoginManager()
csrf = CSRFProtect()
current_user: User = cast(User, _current_user)

TEAM_KEY = "team_id"
# No inline script or style anywhere: every page's JS and CSS is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def init_login(app: Flask) -> None:
    """Cookie flags, the login manager, CSRF (the API exempt) and the security headers."""
    secure = app.config.get("PREFERRED_URL_SCHEME") == "https" or app.extensions[SETTINGS].https
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        # Flask's own defaults are None/False, so fill in only what the caller left unset.
        app.config[f"{prefix}_HTTPONLY"] = app.config.get(f"{prefix}_HTTPONLY", True)
        app.config[f"{prefix}_SAMESITE"] = app.config.get(f"{prefix}_SAMESITE") or "Lax"
        if secure:
            app.config[f"{prefix}_SECURE"] = True
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=30))
    # Tests post forms without tokens unless they turn CSRF on; production always has it.
    app.config.setdefault("WTF_CSRF_ENABLED", not app.config.get("TESTING", False))
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    app.after_request(_security_headers)
    app.context_processor(nav_context)


def exempt_api_from_csrf(app: Flask) -> None:
    """The API (``api`` and its nested blueprints) uses bearer tokens, not the cookie."""
    for name, blueprint in app.blueprints.items():
        if name == "api" or name.startswith("api."):
            csrf.exempt(blueprint)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    uid = positive_int(user_id, None)
    if uid is None:
        return None
    user = db.session.get(User, uid)
    return user if user is not None and user.is_active else None


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    flash("Log in to see that page.", "info")
    return cast(Response, redirect(url_for("auth_pages.login", next=_request_path())))


def _request_path() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def safe_next(target: str | None, default: str = "/history") -> str:
    """``target`` if it is a path on this site, else ``default``: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def memberships() -> list[Membership]:
    """The current user's memberships, by team name (cached for the request)."""
    if "occlab_memberships" not in g:
        g.occlab_memberships = list(
            db.session.scalars(
                select(Membership)
                .join(Team)
                .where(Membership.user_id == current_user.id)
                .order_by(Team.name)
            )
        )
    return cast(list[Membership], g.occlab_memberships)


def current_membership() -> Membership:
    """The membership of the team the user works in: the chosen one, else the first joined."""
    mine = memberships()
    if not mine:
        raise Forbidden("You belong to no team. Ask a team owner for an invitation.")
    chosen = session.get(TEAM_KEY)
    for membership in mine:
        if membership.team_id == chosen:
            return membership
    first = min(mine, key=lambda m: m.id)  # the team they joined first (often their own)
    session[TEAM_KEY] = first.team_id
    return first


def current_team_id() -> int:
    return current_membership().team_id


def current_team() -> Team:
    return current_membership().team


def is_owner() -> bool:
    return current_membership().role == "owner"


def nav_context() -> dict[str, Any]:
    """Template helpers for base.html's header (lazy: only pages that show it query)."""
    return {"nav_memberships": memberships, "nav_team_id": current_team_id}
