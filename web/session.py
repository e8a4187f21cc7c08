"""Logins for the pages: Flask-Login sessions and the team a user works in.

Pages import what they need from here::

    from web.session import current_team, current_team_id, current_user, is_owner, login_required

``current_user`` is the :class:`shared.models.User` (only inside ``login_required`` views);
``current_team_id()`` is the team the pages show, chosen with the switcher in the header
(``session["team_id"]``, checked against the user's memberships on every request)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from flask import Flask, Response, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, login_required, login_user
from flask_login import current_user as _current_user
from flask_login.config import COOKIE_NAME
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from shared.accounts import ensure_session_token, user_by_session_token
from shared.models import Membership, Team, User
from web.extensions import db

__all__ = [
    "current_team",
    "current_team_id",
    "current_user",
    "is_owner",
    "login_manager",
    "login_required",
    "renew_login",
    "start_login",
]


login_manager = LoginManager()


current_user: User = cast(User, _current_user)


TEAM_KEY = "team_id"


def init_login(app: Flask) -> None:
    """The login manager (remembered for 30 days) and the team switcher in every page."""
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=30))
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.context_processor(nav_context)


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    # The cookies carry the session token (User.get_id), so a replaced one finds nobody.
    return user_by_session_token(db.session, session_token)


def start_login(user: User, remember: bool = False) -> None:
    """Log ``user`` in on this browser, with the session token made on their first login."""
    ensure_session_token(user)
    db.session.commit()
    login_user(user, remember=remember)


def renew_login(user: User) -> None:
    """After ``user``'s token was replaced, this browser's cookies carry the new one (its
    remember cookie too, when it has one): only the other browsers are logged out."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies
    login_user(user, remember=remembered)


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    flash("Log in to see that page.", "info")
    return cast(Response, redirect(url_for("auth_pages.login", next=_request_path())))


def _request_path() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


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
