"""Login sessions: the token a login cookie carries instead of the user's id.

Flask-Login signs whatever ``User.get_id()`` returns into the session cookie and the
remember-me cookie. Were that the row id, the remember cookie (``id|HMAC(id)``) would be the
same at every login and valid for 30 days, so nothing could revoke a stolen one. Carrying
``users.session_token`` instead, replacing the token revokes every cookie made with it:
logout, a password change and "log out everywhere" each do.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import User

# 32 random bytes: 43 URL-safe characters, within users.session_token's 64.
TOKEN_BYTES = 32


def rotate_session_token(user: User) -> str:
    """Give ``user`` a new session token: every cookie carrying the old one stops working."""
    user.session_token = secrets.token_urlsafe(TOKEN_BYTES)
    return user.session_token


def ensure_session_token(user: User) -> str:
    """The user's session token, made now if they have none (their first login)."""
    return user.session_token or rotate_session_token(user)


def user_by_session_token(session: Session, token: str) -> User | None:
    """The active user whose cookies carry ``token``; None for an old or unknown one."""
    if not token:  # never match the users who have no token yet
        return None
    user = session.scalar(select(User).where(User.session_token == token))
    return user if user is not None and user.is_active else None
