"""People and teams: argon2 passwords, users, sign-up. Every account rule that fails raises
AccountError with a message a person can act on."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.accounts.sessions import rotate_session_token
from shared.models import Membership, Team, User

MIN_PASSWORD = 8


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
    user = new_user(session, email, password)
    team, created = get_or_create_team(session, team_name)
    add_member(session, user, team, "owner" if created else "member")
    return user


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password and the session token: whoever logged in with the old password
    (or stole a cookie) is logged out everywhere; the caller logs this browser in again."""
    if not verify_password(user.password_hash, current):
        raise AccountError("the current password is wrong: type the one you log in with")
    check_new_password(new)
    user.password_hash = hash_password(new)
    rotate_session_token(user)


def new_user(session: Session, email: str, password: str) -> User:
    email = normalise_email(email)
    check_new_password(password)
    if session.scalar(select(User).filter_by(email=email)) is not None:
        raise AccountError(f"{email} already has an account")
    user = User(email=email, password_hash=hash_password(password))
    session.add(user)
    session.flush()
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
