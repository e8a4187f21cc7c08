"""What the factory refuses and trusts: no known session key, proxies only when configured,
Secure cookies from the settings, no NUL character in any field."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.models import (
    ApiToken,
    Invitation,
    Job,
    Membership,
    Paper,
    Result,
    StoredFile,
    Team,
    User,
)
from tests.fixtures.factories import PASSWORD
from tests.fixtures.web import AuthActions
from web.app import MissingSecretKey, create_app
from web.cli import web_command


@pytest.mark.parametrize("key", ["", "dev-only-not-secret"])
def test_the_app_refuses_a_missing_or_known_secret_key(settings: Settings, key: str) -> None:
    with pytest.raises(MissingSecretKey, match="SECRET_KEY is not set: set it to"):
        create_app({"SETTINGS": settings.with_overrides(secret_key=key)})
    # Tests may run without one.
    app = create_app({"SETTINGS": settings.with_overrides(secret_key=key), "TESTING": True})
    assert app.config["TESTING"]


def test_the_app_signs_with_the_configured_key(settings: Settings) -> None:
    app = create_app({"SETTINGS": settings.with_overrides(secret_key="k" * 40)})
    assert app.config["SECRET_KEY"] == "k" * 40


def test_occlab_web_says_in_one_line_to_set_the_key(
    monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]
) -> None:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY")
    result = CliRunner().invoke(web_command, [])
    assert result.exit_code == 1
    assert result.output.startswith("Error: SECRET_KEY is not set")
    assert len(result.output.strip().splitlines()) == 1


def test_the_dev_server_uses_the_instance_key(
    monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]
) -> None:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY")
    served: list[str] = []
    monkeypatch.setattr(Flask, "run", lambda app, **_: served.append(app.config["SECRET_KEY"]))
    result = CliRunner().invoke(web_command, ["--dev"])
    assert result.exit_code == 0, result.output
    key_file = f"{service_env['OCCLAB_INSTANCE']}/secret_key"
    assert served == [Path(key_file).read_text().strip()] and len(served[0]) >= 40


def _remote_addr_app(make_app: Callable[..., Flask], settings: Settings, hops: int) -> Flask:
    app = make_app(SETTINGS=settings.with_overrides(proxy_hops=hops))
    app.add_url_rule("/_seen", "seen", lambda: f"{request.remote_addr} {request.scheme}")
    return app


def test_forwarded_headers_are_trusted_only_with_proxy_hops(
    make_app: Callable[..., Flask], settings: Settings
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    direct = _remote_addr_app(make_app, settings, 0).test_client()
    assert direct.get("/_seen", headers=forwarded).text == "127.0.0.1 http"
    proxied = _remote_addr_app(make_app, settings, 1).test_client()
    assert proxied.get("/_seen", headers=forwarded).text == "203.0.113.7 https"


def test_https_setting_makes_cookies_secure(
    make_app: Callable[..., Flask], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCCLAB_HTTPS", "1")  # ignored: the settings decide, not os.environ
    plain = make_app(SETTINGS=settings.with_overrides(https=False))
    assert not plain.config.get("SESSION_COOKIE_SECURE")
    secure = make_app(SETTINGS=settings.with_overrides(https=True))
    assert secure.config["SESSION_COOKIE_SECURE"] and secure.config["REMEMBER_COOKIE_SECURE"]


def test_hsts_only_when_served_over_https(
    make_app: Callable[..., Flask], settings: Settings
) -> None:
    plain = make_app(SETTINGS=settings.with_overrides(https=False)).test_client()
    assert "Strict-Transport-Security" not in plain.get("/login").headers
    secure = make_app(SETTINGS=settings.with_overrides(https=True)).test_client()
    for path in ("/login", "/api/v1/openapi.json", "/no-such-page"):
        hsts = secure.get(path).headers["Strict-Transport-Security"]
        assert hsts == "max-age=31536000; includeSubDomains", path


ACCOUNT_ROWS = (Team, User, Membership, ApiToken, Invitation, Paper, Job, Result)
SIGNUP = {"email": "new@example.org", "password": PASSWORD, "confirm": PASSWORD}
PAPER = {"title": "Social media", "abstract": "We study it.", "action": "submit"}
# (logged in, method, path, form): a NUL in each kind of field a person can send.
NUL_FIELDS = [
    (False, "POST", "/login", "email", {"email": "ada\0@example.org", "password": PASSWORD}),
    (False, "POST", "/signup", "team_name", {**SIGNUP, "team_name": "Turing\0 Group"}),
    (False, "POST", "/signup", "email", {**SIGNUP, "email": "n\0@x.org", "team_name": "T"}),
    (False, "GET", "/signup?invite=a%00b", "invite", None),
    (False, "POST", "/join", "invite", {"invite": "a\0b"}),
    (True, "POST", "/account/tokens", "name", {"name": "lap\0top"}),
    (True, "POST", "/submit", "title", {**PAPER, "title": "Social\0 media"}),
    (True, "GET", "/history?model=a%00", "model", None),
    (True, "GET", "/api/v1/jobs?page=1%00", "page", None),
]


@pytest.mark.parametrize(("logged_in", "method", "path", "field", "form"), NUL_FIELDS)
def test_a_nul_in_any_field_is_a_400_naming_it(
    client: FlaskClient, login: AuthActions, auth: dict[str, str],
    sessions: sessionmaker[Session], logged_in: bool, method: str, path: str, field: str,
    form: dict[str, str] | None,
) -> None:  # fmt: skip
    """PostgreSQL cannot store U+0000: sent on, it failed the request with a 500."""
    if logged_in:
        login.login()
    before = _rows(sessions)
    response = client.open(path, method=method, data=form, headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    message = f"The field '{field}' contains a NUL character (\\0), which cannot be stored"
    text = response.json["error"] if response.is_json else response.get_data(as_text=True)
    assert message in html.unescape(text)
    assert _rows(sessions) == before


@pytest.mark.parametrize("path", ["/upload", "/api/v1/jobs"])
def test_a_nul_in_an_uploaded_file_name_is_a_400(
    client: FlaskClient, login: AuthActions, auth: dict[str, str],
    sessions: sessionmaker[Session], settings: Settings, path: str,
) -> None:  # fmt: skip
    """The name is stored (the job's source name), so it may not hold one either."""
    login.login()
    before = _rows(sessions)
    data = {"file": (io.BytesIO(b"title,abstract\nSocial media,We study it.\n"), "p\0.csv")}
    response = client.post(path, data=data, headers=auth, content_type="multipart/form-data")
    assert response.status_code == 400
    text = response.json["error"] if response.is_json else response.get_data(as_text=True)
    assert "The name of the file sent as 'file' contains a NUL" in html.unescape(text)
    assert _rows(sessions) == before
    with sessions() as session:  # the stored file is gone too
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0


def _rows(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return [session.scalar(select(func.count()).select_from(m)) or 0 for m in ACCOUNT_ROWS]
