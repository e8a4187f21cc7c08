"""Helpers for page tests: log in through the real form and read the CSRF token off a page."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import create_user
from shared.models import User

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found[1]


def make_user(sessions: sessionmaker[Session], email: str, team: str) -> int:
    """A user with ``team`` (owner if new); returns the user's id."""
    with sessions.begin() as session:
        user: User = create_user(session, email, PASSWORD, team)
        return user.id


def log_in(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str) -> None:
    response = client.post("/login", data={"email": email, "password": password, **extra})
    assert response.status_code == 302, response.data[:500]
