"""What the factory refuses and trusts: no known session key, proxies only when configured,
Secure cookies from the settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask, request

from shared.config import Settings
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
