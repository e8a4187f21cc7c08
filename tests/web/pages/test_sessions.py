"""Revocable logins: logout, a password change and "log out everywhere" replace the session
token, so cookies captured before (the session's and the remember-me one) stop working."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import verify_password
from shared.models import User
from tests.fixtures.factories import PASSWORD, Member
from tests.fixtures.web import AuthActions, csrf_from

COOKIES = ("session", "remember_token")
NEW_PASSWORD = "a new and longer passphrase"


def _captured(client: FlaskClient) -> dict[str, str]:
    found = {name: client.get_cookie(name) for name in COOKIES}
    assert all(found.values()), f"the login set only {[n for n, c in found.items() if c]}"
    return {name: cookie.value for name, cookie in found.items() if cookie is not None}


def _replayed(client: FlaskClient, cookies: dict[str, str]) -> FlaskClient:
    """A fresh browser holding only ``cookies`` (an attacker who copied them)."""
    fresh = client.application.test_client()
    for name, value in cookies.items():
        fresh.set_cookie(name, value)
    return fresh


def _logged_in(client: FlaskClient) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302)
    return response.status_code == 200


@pytest.mark.parametrize("replay", [COOKIES, ("session",), ("remember_token",)])
def test_cookies_captured_before_logout_no_longer_log_in(
    login: AuthActions, replay: tuple[str, ...]
) -> None:
    browser = login.login(remember="on")
    cookies = {k: v for k, v in _captured(browser).items() if k in replay}
    assert _logged_in(_replayed(browser, cookies))  # the capture works before logout
    login.logout()
    stolen = _replayed(browser, cookies)
    response = stolen.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logging_in_again_after_logout_works(login: AuthActions) -> None:
    login.login()
    login.logout()
    assert _logged_in(login.login())


def test_a_password_change_logs_out_the_other_browser(
    login: AuthActions, ada: Member, sessions: sessionmaker[Session]
) -> None:
    here = login.login(remember="on")
    other = login.other_browser().login(remember="on")
    data = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = here.post("/account/password", data=data)
    assert response.status_code == 302
    assert "every other browser is logged out" in here.get("/account").get_data(as_text=True)
    assert not _logged_in(other)
    # This browser's own remember cookie was renewed with it: it alone logs in again.
    assert _logged_in(_replayed(here, {"remember_token": _captured(here)["remember_token"]}))
    with sessions() as session:
        assert verify_password(session.get_one(User, ada.user_id).password_hash, NEW_PASSWORD)
    assert _logged_in(login.other_browser().login(password=NEW_PASSWORD))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current": "not my password"}, "The current password is wrong"),
        ({"password": "short", "confirm": "short"}, "Use at least 8 characters."),
        ({"confirm": "something else"}, "The two passwords differ."),
    ],
)
def test_a_refused_password_change_keeps_everything(
    login: AuthActions, data: dict[str, str], message: str
) -> None:
    here = login.login()
    other = login.other_browser().login()
    form = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **data}
    response = here.post("/account/password", data=form)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _logged_in(here) and _logged_in(other)
    assert _logged_in(login.other_browser().login())  # the old password still works


def test_log_out_everywhere_keeps_only_this_browser(login: AuthActions) -> None:
    here = login.login()
    other = login.other_browser().login(remember="on")
    stolen = _captured(other)
    assert "Log out everywhere" in here.get("/account").get_data(as_text=True)
    assert here.post("/account/sessions/revoke").status_code == 302
    assert _logged_in(here)
    assert not _logged_in(other)
    assert not _logged_in(_replayed(here, stolen))


def test_password_and_sessions_forms_need_csrf(make_app: Callable[..., Flask], ada: Member) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    AuthActions(client).login(csrf_token=csrf_from(client.get("/login").get_data(as_text=True)))
    page = client.get("/account").get_data(as_text=True)
    for action in ("/account/sessions/revoke", "/account/password"):
        assert f'action="{action}"' in page
        refused = client.post(action, data={"current": PASSWORD})
        assert refused.status_code == 400 and "Reload the page" in refused.get_data(as_text=True)
    assert _logged_in(client)
