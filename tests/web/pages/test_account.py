"""The account page: teams and the switcher, invitations, members, API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import (
    AccountError,
    accept_invitation,
    authenticate_token,
    find_invitation,
)
from shared.db import utcnow
from shared.models import ApiToken, Invitation, Membership, Team, User
from tests.fixtures import factories
from tests.fixtures.factories import ADA, BOB, PASSWORD, Factory, Member
from tests.fixtures.web import AuthActions, csrf_from

OWNER = ADA  # owner of Lovelace Lab, the ``ada`` fixture
MEMBER = BOB
INVITE = re.compile(r"/signup\?invite=([\w-]+)")
TOKEN = re.compile(r'id="new-token">(ocl_[\w-]+)<')


def _invite(client: FlaskClient) -> str:
    response = client.post("/account/invitations")
    assert response.status_code == 201
    found = INVITE.search(response.get_data(as_text=True))
    assert found is not None
    return found[1]


def _join(app: Flask, token: str, email: str = MEMBER) -> tuple[FlaskClient, int, str]:
    client = app.test_client()
    data = {"email": email, "password": PASSWORD, "confirm": PASSWORD, "invite": token}
    response = client.post("/signup", data=data)
    return client, response.status_code, response.get_data(as_text=True)


def _membership(sessions: sessionmaker[Session], email: str) -> Membership | None:
    with sessions() as session:
        return session.scalar(select(Membership).join(User).where(User.email == email))


def test_account_page_shows_teams_and_tokens(login: AuthActions) -> None:
    owner = login.login()
    html = owner.get("/account").get_data(as_text=True)
    assert "Lovelace Lab" in html and "owner" in html
    assert "API tokens" in html and "Create invitation link" in html
    assert 'aria-current="page"' in html and 'href="/account"' in html


def test_switch_team(
    login: AuthActions, sessions: sessionmaker[Session], ada: Member, make: Factory
) -> None:
    owner = login.login()
    other_id = make.user("stranger@example.org", "Strangers").team_id
    with sessions.begin() as session:
        babbage_id = factories.membership(session, ada.user_id, "Babbage Lab")
    html = owner.get("/account").get_data(as_text=True)
    assert 'id="team-switch-select"' in html and '<label for="team-switch-select">' in html
    refused = owner.post("/teams/switch", data={"team_id": str(other_id)})
    assert refused.status_code == 403 and "not a member" in refused.get_data(as_text=True)
    moved = owner.post("/teams/switch", data={"team_id": str(babbage_id), "next": "/account"})
    assert moved.status_code == 302 and moved.headers["Location"] == "/account"
    html = owner.get("/account").get_data(as_text=True)
    assert "Only owners of Babbage Lab" in html  # a plain member there: no invitations
    assert owner.post("/account/invitations").status_code == 403


def test_invitation_is_accepted_once(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    token = _invite(owner)
    client, status, _ = _join(app, token)
    assert status == 302
    member = _membership(sessions, MEMBER)
    assert member is not None and member.role == "member"
    assert "Lovelace Lab" in client.get("/account").get_data(as_text=True)
    _, status, html = _join(app, token, "carol@example.org")
    assert status == 200 and "already been used" in html
    with sessions() as session:
        row = session.scalar(select(Invitation))
        assert row is not None and row.token_hash != token  # stored hashed
        assert session.scalar(select(User).filter_by(email="carol@example.org")) is None


def test_an_invitation_found_by_two_requests_is_used_by_one(
    login: AuthActions, sessions: sessionmaker[Session], make: Factory
) -> None:
    """Two sign-ups with one link, interleaved: both find it unused, only one may use it."""
    owner = login.login()
    token = _invite(owner)
    user_ids = [make.user(f"u{n}@example.org", f"Team {n}").user_id for n in range(2)]
    with sessions() as first, sessions() as second:
        found = [find_invitation(s, token) for s in (first, second)]
        users = [s.get_one(User, i) for s, i in zip((first, second), user_ids, strict=True)]
        accept_invitation(first, found[0], users[0])
        first.commit()
        with pytest.raises(AccountError, match="already been used"):
            accept_invitation(second, found[1], users[1])
        second.rollback()
    with sessions() as session:
        joined = session.scalars(select(Membership).join(Team).where(Team.name == "Lovelace Lab"))
        assert sorted(m.role for m in joined) == ["member", "owner"]


def test_expired_and_unknown_invitations_are_refused(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    token = _invite(owner)
    with sessions.begin() as session:
        row = session.scalar(select(Invitation))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert "has expired" in _join(app, token)[2]
    assert "not valid" in _join(app, "made-up-token")[2]
    assert _membership(sessions, MEMBER) is None


def test_logged_in_user_joins_another_team(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session], make: Factory
) -> None:
    owner = login.login()
    token = _invite(owner)
    make.user(MEMBER, "Bob's Lab")
    bob = login.other_browser().login(MEMBER)
    assert "Join Lovelace Lab" in bob.get(f"/signup?invite={token}").get_data(as_text=True)
    assert bob.post("/join", data={"invite": token}).status_code == 302
    html = bob.get("/account").get_data(as_text=True)
    assert "Lovelace Lab" in html and "Bob&#39;s Lab" in html


def test_revoke_member_and_their_tokens(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    _join(app, _invite(owner))
    member = _membership(sessions, MEMBER)
    assert member is not None
    with sessions.begin() as session:
        plain = factories.api_token(session, member.user_id)
    assert owner.get("/api/v1/jobs", headers=_bearer(plain)).status_code == 200
    html = owner.get("/account").get_data(as_text=True)
    assert MEMBER in html
    response = owner.post(f"/account/members/{member.id}/revoke")
    assert response.status_code == 302
    assert _membership(sessions, MEMBER) is None
    assert owner.get("/api/v1/jobs", headers=_bearer(plain)).status_code == 401


def test_last_owner_cannot_leave(login: AuthActions, sessions: sessionmaker[Session]) -> None:
    owner = login.login()
    mine = _membership(sessions, OWNER)
    assert mine is not None
    response = owner.post(f"/account/members/{mine.id}/revoke")
    assert response.status_code == 409 and "needs an owner" in response.get_data(as_text=True)


def test_members_cannot_manage_members(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    bob, _, _ = _join(app, _invite(owner))
    mine = _membership(sessions, OWNER)
    assert mine is not None
    assert bob.post(f"/account/members/{mine.id}/revoke").status_code == 403
    assert bob.post("/account/invitations").status_code == 403


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_create_list_revoke(login: AuthActions, sessions: sessionmaker[Session]) -> None:
    owner = login.login()
    response = owner.post("/account/tokens", data={"name": "laptop <b>"})
    assert response.status_code == 201
    found = TOKEN.search(response.get_data(as_text=True))
    assert found is not None
    plain = found[1]
    assert owner.get("/api/v1/jobs", headers=_bearer(plain)).status_code == 200
    listing = owner.get("/account").get_data(as_text=True)
    assert plain not in listing and plain[:12] in listing  # only the prefix, ever again
    assert "laptop &lt;b&gt;" in listing
    with sessions() as session:
        row = session.scalar(select(ApiToken))
        assert row is not None
    assert owner.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    assert "revoked" in owner.get("/account").get_data(as_text=True)
    assert owner.get("/api/v1/jobs", headers=_bearer(plain)).status_code == 401


def test_token_needs_a_name_and_an_owner(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session], make: Factory
) -> None:
    owner = login.login()
    assert owner.post("/account/tokens", data={"name": " "}).status_code == 400
    owner.post("/account/tokens", data={"name": "mine"})
    with sessions() as session:
        row = session.scalar(select(ApiToken))
        assert row is not None
    make.user("eve@example.org", "Eve's")
    eve = login.other_browser().login("eve@example.org")
    assert eve.post(f"/account/tokens/{row.id}/revoke").status_code == 404


def test_last_used_is_written_at_most_every_five_minutes(
    sessions: sessionmaker[Session], ada: Member
) -> None:
    with sessions.begin() as session:
        plain = factories.api_token(session, ada.user_id)
    with sessions.begin() as session:
        row = authenticate_token(session, plain)
        assert row is not None and row.last_used_at is not None
        first = row.last_used_at
    with sessions.begin() as session:
        row = authenticate_token(session, plain)
        assert row is not None and row.last_used_at == first
        assert not session.dirty  # nothing to write
        row.last_used_at = first - timedelta(minutes=6)
    with sessions.begin() as session:
        row = authenticate_token(session, plain)
        assert row is not None and row.last_used_at is not None and row.last_used_at > first


def _invitation_ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(Invitation.id).order_by(Invitation.id)))


def test_owners_see_pending_invitations_without_their_tokens(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    assert "No pending invitations." in owner.get("/account").get_data(as_text=True)
    used, expired, pending = _invite(owner), _invite(owner), _invite(owner)
    _join(app, used)
    with sessions.begin() as session:
        row = session.scalar(select(Invitation).order_by(Invitation.id).offset(1))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    html = owner.get("/account").get_data(as_text=True)
    assert "Pending invitations" in html
    for token in (used, expired, pending):
        assert token not in html  # only the hash is stored, and it is not shown either
    ids = _invitation_ids(sessions)
    actions = re.findall(r'action="/account/invitations/(\d+)/cancel"', html)
    assert actions == [str(ids[2])]  # only the unused, unexpired one
    assert f"by {OWNER}" in html and "Expires (UTC)" in html


def test_owner_cancels_an_invitation_and_its_link_stops_working(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    token = _invite(owner)
    (invitation_id,) = _invitation_ids(sessions)
    response = owner.post(f"/account/invitations/{invitation_id}/cancel")
    assert response.status_code == 302
    assert "no longer works" in owner.get("/account").get_data(as_text=True)
    assert _invitation_ids(sessions) == []
    _, status, html = _join(app, token)
    assert status == 200 and "not valid" in html
    assert _membership(sessions, MEMBER) is None
    assert owner.post(f"/account/invitations/{invitation_id}/cancel").status_code == 404


def test_only_owners_of_the_team_cancel_its_invitations(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session], make: Factory
) -> None:
    owner = login.login()
    bob, _, _ = _join(app, _invite(owner))
    _invite(owner)
    pending = _invitation_ids(sessions)[-1]
    assert bob.post(f"/account/invitations/{pending}/cancel").status_code == 403
    make.user("eve@example.org", "Eve's")
    eve = login.other_browser().login("eve@example.org")  # owns another team
    assert eve.post(f"/account/invitations/{pending}/cancel").status_code == 404
    assert pending in _invitation_ids(sessions)
    # A used one is not pending: it stays, as the record of who joined.
    used = _invitation_ids(sessions)[0]
    assert owner.post(f"/account/invitations/{used}/cancel").status_code == 409


def test_cancelling_needs_csrf(
    make_app: Callable[..., Flask], sessions: sessionmaker[Session], ada: Member
) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    page = client.get("/login").get_data(as_text=True)
    AuthActions(client).login(csrf_token=csrf_from(page))
    html = client.get("/account").get_data(as_text=True)
    client.post("/account/invitations", data={"csrf_token": csrf_from(html)})
    (invitation_id,) = _invitation_ids(sessions)
    assert client.post(f"/account/invitations/{invitation_id}/cancel").status_code == 400
    assert _invitation_ids(sessions) == [invitation_id]
    ok = client.post(f"/account/invitations/{invitation_id}/cancel",
                     data={"csrf_token": csrf_from(html)})  # fmt: skip
    assert ok.status_code == 302 and _invitation_ids(sessions) == []


def test_owner_promotes_and_demotes(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    bob, _, _ = _join(app, _invite(owner))
    member, mine = _membership(sessions, MEMBER), _membership(sessions, OWNER)
    assert member is not None and mine is not None
    html = owner.get("/account").get_data(as_text=True)
    assert f'Make owner<span class="sr-only">: {MEMBER}</span>' in html
    assert bob.post(f"/account/members/{mine.id}/role", data={"role": "member"}).status_code == 403
    response = owner.post(f"/account/members/{member.id}/role", data={"role": "owner"})
    assert response.status_code == 302
    assert (found := _membership(sessions, MEMBER)) is not None and found.role == "owner"
    assert f"{MEMBER} is now an owner" in owner.get("/account").get_data(as_text=True)
    # Now Bob, an owner, may demote Ada; then Ada is a plain member and may manage no one.
    assert bob.post(f"/account/members/{mine.id}/role", data={"role": "member"}).status_code == 302
    assert (found := _membership(sessions, OWNER)) is not None and found.role == "member"
    assert (
        owner.post(f"/account/members/{member.id}/role", data={"role": "member"}).status_code == 403
    )
    bad = bob.post(f"/account/members/{mine.id}/role", data={"role": "admin"})
    assert bad.status_code == 400 and "not a role" in bad.get_data(as_text=True)


def test_the_last_owner_cannot_be_demoted(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session]
) -> None:
    owner = login.login()
    _join(app, _invite(owner))
    mine = _membership(sessions, OWNER)
    assert mine is not None
    response = owner.post(f"/account/members/{mine.id}/role", data={"role": "member"})
    assert response.status_code == 409
    assert "A team needs an owner: make someone else owner first." in response.get_data(
        as_text=True
    )
    assert (found := _membership(sessions, OWNER)) is not None and found.role == "owner"


def test_roles_change_only_in_your_own_team(
    login: AuthActions, app: Flask, sessions: sessionmaker[Session], make: Factory
) -> None:
    owner = login.login()
    make.user("eve@example.org", "Eve's")
    eve = _membership(sessions, "eve@example.org")
    assert eve is not None
    assert owner.post(f"/account/members/{eve.id}/role", data={"role": "member"}).status_code == 404
    assert (found := _membership(sessions, "eve@example.org")) is not None and found.role == "owner"


def test_a_refusal_quotes_what_was_typed_as_typed(
    login: AuthActions, sessions: sessionmaker[Session]
) -> None:
    """Messages become sentences by raising their first letter only: the role typed as
    'Owner' is quoted as 'Owner', not lower-cased to 'owner'."""
    owner = login.login()
    mine = _membership(sessions, OWNER)
    assert mine is not None
    response = owner.post(f"/account/members/{mine.id}/role", data={"role": "Owner"})
    assert response.status_code == 400
    assert "&#39;Owner&#39; is not a role: use owner or member." in response.get_data(as_text=True)


def test_a_token_name_that_is_too_long_is_refused_and_kept(login: AuthActions) -> None:
    owner = login.login()
    response = owner.post("/account/tokens", data={"name": "x" * 201})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Name the token (up to 200 characters)" in html
    assert 'aria-invalid="true"' in html and f'value="{"x" * 201}"' in html


def test_pages_showing_a_secret_are_never_stored(login: AuthActions) -> None:
    owner = login.login()
    token = owner.post("/account/tokens", data={"name": "laptop"})
    invite = owner.post("/account/invitations")
    assert (token.status_code, invite.status_code) == (201, 201)
    assert token.headers["Cache-Control"] == invite.headers["Cache-Control"] == "no-store"
    # A refused form shows no secret: nothing to forbid.
    assert "no-store" not in owner.post("/account/tokens", data={"name": " "}).headers.get(
        "Cache-Control", ""
    )
