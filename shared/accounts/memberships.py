"""Who is in a team and how they get in: members, roles (a team keeps one owner), invitations."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shared.accounts.people import AccountError, add_member, get_or_create_team, new_user
from shared.accounts.tokens import digest, revoke_token
from shared.db import utcnow
from shared.models import ApiToken, Invitation, Membership, Team, User

INVITE_TTL = timedelta(days=7)


def members_of(session: Session, team_id: int) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership).join(User).where(Membership.team_id == team_id).order_by(User.email)
        )
    )


ROLES = ("owner", "member")


def is_team_owner(session: Session, user_id: int, team_id: int) -> bool:
    role = session.scalar(select(Membership.role).filter_by(user_id=user_id, team_id=team_id))
    return role == "owner"


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
        token_hash=digest(plain),
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
    row = session.scalar(select(Invitation).filter_by(token_hash=digest(plain.strip())))
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


def sign_up(
    session: Session, email: str, password: str, team_name: str = "", invite: str = ""
) -> User:
    """A self-service account: owner of the new team ``team_name``, or a member of the
    team whose invitation token is ``invite`` (which is then used up)."""
    invitation = find_invitation(session, invite) if invite else None
    if invitation is None and session.scalar(select(Team).filter_by(name=team_name.strip())):
        raise AccountError("that team name is taken: ask one of its owners for an invitation")
    user = new_user(session, email, password)
    if invitation is not None:
        accept_invitation(session, invitation, user)
    else:
        team, _ = get_or_create_team(session, team_name)
        add_member(session, user, team, "owner")
    return user
