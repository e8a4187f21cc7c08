"""API tokens: shown once, stored as a SHA-256 digest, scoped to one team."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.accounts.people import AccountError, teams_of
from shared.db import utcnow
from shared.models import ApiToken, Membership, Team, User

TOKEN_PREFIX = "ocl_"


# Touch ``last_used_at`` at most this often, so API reads do not all write.
LAST_USED_EVERY = timedelta(minutes=5)


def digest(token: str) -> str:
    """How a token or invitation is stored: its SHA-256, so a database leak grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, user: User, team: Team | None = None, name: str = ""
) -> tuple[ApiToken, str]:
    """A new API token acting for ``user`` in ``team`` (default: their first team).

    Returns the row and the token itself, which is not stored and cannot be shown again.
    """
    teams = teams_of(session, user)
    if team is None:
        if not teams:
            raise AccountError(f"{user.email} belongs to no team")
        team = teams[0]
    elif team.id not in {t.id for t in teams}:
        raise AccountError(f"{user.email} is not a member of {team.name}")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, team_id=team.id, name=name, token_hash=digest(plain), prefix=plain[:12]
    )
    session.add(row)
    session.flush()
    return row, plain


def authenticate_token(session: Session, plain: str) -> ApiToken | None:
    """The live token row for ``plain``, its user active and still a member of its team."""
    row = session.scalar(select(ApiToken).filter_by(token_hash=digest(plain)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    member = session.scalar(select(Membership).filter_by(user_id=row.user_id, team_id=row.team_id))
    if member is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
    return row


def revoke_token(session: Session, token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or utcnow()


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they say so)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )
