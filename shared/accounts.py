"""People, teams and API tokens: creation and verification, shared by the CLI and the web."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.models import ApiToken, Invitation, Membership, Team, User

TOKEN_PREFIX = "ocl_"
MIN_PASSWORD = 8
INVITE_TTL = timedelta(days=7)
# Touch ``last_used_at`` at most this often, so API reads do not all write.
LAST_USED_EVERY = timedelta(minutes=5)

# argon2id with the library's defaults (64 MiB, 3 passes): slow enough to resist guessing.
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about accounts that cannot be met; the message says what to change."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise AccountError(f"{email!r} is not an email address")
    return email


def get_or_create_team(session: Session, name: str) -> tuple[Team, bool]:
    name = name.strip()
    if not name:
        raise AccountError("the team name is empty")
    team = session.scalar(select(Team).filter_by(name=name))
    if team is not None:
        return team, False
    team = Team(name=name)
    session.add(team)
    session.flush()
    return team, True


def create_user(session: Session, email: str, password: str, team_name: str) -> User:
    """A new user in ``team_name``; the team is created (with them as owner) if it is new.

    For the operator's CLI: anyone who signs up on the web gets :func:`sign_up` instead,
    which never lets a stranger join an existing team by typing its name.
    """
    user = _new_user(session, email, password)
    team, created = get_or_create_team(session, team_name)
    add_member(session, user, team, "owner" if created else "member")
    return user


def _new_user(session: Session, email: str, password: str) -> User:
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User).filter_by(email=email)) is not None:
        raise AccountError(f"{email} already has an account")
    user = User(email=email, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def sign_up(
    session: Session, email: str, password: str, team_name: str = "", invite: str = ""
) -> User:
    """A self-service account: owner of the new team ``team_name``, or a member of the
    team whose invitation token is ``invite`` (which is then used up)."""
    invitation = find_invitation(session, invite) if invite else None
    if invitation is None and session.scalar(select(Team).filter_by(name=team_name.strip())):
        raise AccountError("that team name is taken: ask one of its owners for an invitation")
    user = _new_user(session, email, password)
    if invitation is not None:
        accept_invitation(session, invitation, user)
    else:
        team, _ = get_or_create_team(session, team_name)
        add_member(session, user, team, "owner")
    return user


def add_member(session: Session, user: User, team: Team, role: str = "member") -> Membership:
    found = session.scalar(select(Membership).filter_by(user_id=user.id, team_id=team.id))
    if found is not None:
        return found
    membership = Membership(user_id=user.id, team_id=team.id, role=role)
    session.add(membership)
    session.flush()
    return membership


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).filter_by(email=normalise_email(email)))


def teams_of(session: Session, user: User) -> list[Team]:
    return list(
        session.scalars(
            select(Team).join(Membership).where(Membership.user_id == user.id).order_by(Team.name)
        )
    )


def _digest(token: str) -> str:
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
        user_id=user.id, team_id=team.id, name=name, token_hash=_digest(plain), prefix=plain[:12]
    )
    session.add(row)
    session.flush()
    return row, plain


def authenticate_token(session: Session, plain: str) -> ApiToken | None:
    """The live token row for ``plain``, its user active and still a member of its team."""
    row = session.scalar(select(ApiToken).filter_by(token_hash=_digest(plain)))
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


def members_of(session: Session, team_id: int) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership).join(User).where(Membership.team_id == team_id).order_by(User.email)
        )
    )


ROLES = ("owner", "member")
_LAST_OWNER = "a team needs an owner: make someone else owner first"


def _other_owners(session: Session, membership: Membership) -> int:
    """How many owners the team has besides ``membership``'s user.

    The team's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one
    writer at a time anyway), so two owners demoting or removing each other at once are
    counted one after the other and cannot leave the team with none.
    """
    session.execute(select(Team.id).where(Team.id == membership.team_id).with_for_update())
    return len(
        list(
            session.scalars(
                select(Membership.id).where(
                    Membership.team_id == membership.team_id,
                    Membership.role == "owner",
                    Membership.id != membership.id,
                )
            )
        )
    )


def set_role(session: Session, membership: Membership, role: str) -> None:
    """Make ``membership`` an owner or a plain member; a team keeps one owner."""
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role: use owner or member")
    if membership.role == "owner" and role != "owner" and _other_owners(session, membership) < 1:
        raise AccountError(_LAST_OWNER)
    membership.role = role
    session.flush()


def revoke_membership(session: Session, membership: Membership) -> None:
    """Remove a member and revoke their tokens for that team; a team keeps one owner."""
    if membership.role == "owner" and _other_owners(session, membership) < 1:
        raise AccountError(_LAST_OWNER)
    for token in session.scalars(
        select(ApiToken).filter_by(user_id=membership.user_id, team_id=membership.team_id)
    ):
        revoke_token(session, token)
    session.delete(membership)
    session.flush()


def create_invitation(
    session: Session, team: Team, invited_by: User | None, role: str = "member"
) -> tuple[Invitation, str]:
    """A one-use invitation to ``team``, valid for :data:`INVITE_TTL`; returns the row and
    the token itself, which is not stored and cannot be shown again."""
    plain = secrets.token_urlsafe(32)
    row = Invitation(
        team_id=team.id,
        invited_by_id=invited_by.id if invited_by else None,
        token_hash=_digest(plain),
        role=role,
        expires_at=utcnow() + INVITE_TTL,
    )
    session.add(row)
    session.flush()
    return row, plain


def pending_invitations(session: Session, team_id: int) -> list[tuple[Invitation, str | None]]:
    """The team's unused, unexpired invitations, newest first, each with the email of who
    created it (None if unknown or since deleted)."""
    rows = session.execute(
        select(Invitation, User.email)
        .outerjoin(User, User.id == Invitation.invited_by_id)
        .where(
            Invitation.team_id == team_id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return [(row[0], row[1]) for row in rows]


def cancel_invitation(session: Session, invitation: Invitation) -> None:
    """Delete an unused invitation: its link is then refused as not valid. One that was
    used meanwhile is kept (it records who joined) and AccountError says so."""
    deleted = session.execute(
        delete(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        raise AccountError("this invitation has already been used")
    session.expunge(invitation)


def find_invitation(session: Session, plain: str) -> Invitation:
    """The usable invitation for ``plain``; AccountError says why one is not."""
    row = session.scalar(select(Invitation).filter_by(token_hash=_digest(plain.strip())))
    if row is None:
        raise AccountError("this invitation link is not valid: ask for a new one")
    if row.used_at is not None:
        raise AccountError("this invitation has already been used: ask for a new one")
    if row.expires_at <= utcnow():
        raise AccountError("this invitation has expired: ask for a new one")
    return row


def accept_invitation(session: Session, invitation: Invitation, user: User) -> Membership:
    """Use up ``invitation`` for ``user``; AccountError if it was used (or expired) meanwhile.

    One conditional UPDATE claims it: of two requests racing with the same link, the
    database lets exactly one change the row, where check-then-set would let both in.
    """
    now = utcnow()
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AccountError("this invitation has already been used: ask for a new one")
    session.refresh(invitation)
    return add_member(session, user, invitation.team, invitation.role)
