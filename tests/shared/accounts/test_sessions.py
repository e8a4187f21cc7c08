"""Session tokens: made at the first login, replaced on demand, found only while current."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import (
    AccountError,
    change_password,
    ensure_session_token,
    rotate_session_token,
    user_by_session_token,
    verify_password,
)
from shared.models import User
from tests.fixtures.factories import PASSWORD, Member


def test_the_token_is_made_once_and_replaced_on_demand(
    sessions: sessionmaker[Session], ada: Member
) -> None:
    with sessions.begin() as session:
        user = session.get_one(User, ada.user_id)
        assert user.session_token is None
        with pytest.raises(ValueError, match="session token"):
            user.get_id()  # never the row id, whose cookies could not be revoked
        first = ensure_session_token(user)
        assert ensure_session_token(user) == first == user.get_id() and len(first) >= 40
        second = rotate_session_token(user)
        assert second != first and len(second) <= 64
    with sessions() as session:
        assert user_by_session_token(session, first) is None
        found = user_by_session_token(session, second)
        assert found is not None and found.id == ada.user_id
        assert user_by_session_token(session, "") is None


def test_an_inactive_user_is_not_found(sessions: sessionmaker[Session], ada: Member) -> None:
    with sessions.begin() as session:
        user = session.get_one(User, ada.user_id)
        token = rotate_session_token(user)
        user.is_active = False
    with sessions() as session:
        assert user_by_session_token(session, token) is None


def test_a_password_change_replaces_the_token(sessions: sessionmaker[Session], ada: Member) -> None:
    with sessions.begin() as session:
        user = session.get_one(User, ada.user_id)
        old = ensure_session_token(user)
        with pytest.raises(AccountError, match="current password is wrong"):
            change_password(user, "not it", "a long new password")
        with pytest.raises(AccountError, match="at least 8 characters"):
            change_password(user, PASSWORD, "short")
        assert user.session_token == old and verify_password(user.password_hash, PASSWORD)
        change_password(user, PASSWORD, "a long new password")
        assert user.session_token != old
        assert verify_password(user.password_hash, "a long new password")
