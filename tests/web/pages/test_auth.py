"""Sign up, log in, log out: the layout contract, CSRF, redirects, rate limits, cookies,
security headers and HTML versus JSON errors."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts.limits import AttemptLimiter
from shared.models import Membership, User
from tests.fixtures.factories import ADA, PASSWORD, Member
from tests.fixtures.web import AuthActions, csrf_from
from web.pages import auth as auth_pages

EMAIL = ADA


def _signup(client: FlaskClient, email: str, team: str, **extra: str) -> tuple[int, str]:
    data = {"email": email, "password": PASSWORD, "confirm": PASSWORD, "team_name": team}
    response = client.post("/signup", data={**data, **extra})
    return response.status_code, response.get_data(as_text=True)


def test_login_page_has_the_layout_contract(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    for part in (
        '<html lang="en">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="csrf-token" content="',
        'href="/static/css/app.css"',
        'href="#main"',
        '<main id="main"',
        '<label for="email">Email</label>',
        '<label for="password">Password</label>',
    ):
        assert part in html, part
    assert "<script>" not in html  # CSP: no inline script


def test_signup_creates_a_team_you_own_and_logs_you_in(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    status, _ = _signup(client, "new@example.org", "Turing Group")
    assert status == 302
    with sessions() as session:
        user = session.scalar(select(User).filter_by(email="new@example.org"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        member = session.scalar(select(Membership).filter_by(user_id=user.id))
        assert member is not None and member.role == "owner"
    html = client.get("/account").get_data(as_text=True)
    assert "Turing Group" in html and 'href="/history"' in html and 'href="/submit"' in html


def test_signup_never_joins_an_existing_team_by_name(
    client: FlaskClient, ada: Member, sessions: sessionmaker[Session]
) -> None:
    status, html = _signup(client, "eve@example.org", ada.team)
    assert status == 400 and "invitation" in html
    with sessions() as session:
        assert session.scalar(select(User).filter_by(email="eve@example.org")) is None


def test_signup_checks_its_fields(client: FlaskClient, ada: Member) -> None:
    status, html = _signup(client, "x@example.org", "T", confirm="something else")
    assert status == 400 and "The two passwords differ." in html
    status, html = _signup(client, EMAIL, "Other team")
    assert status == 400 and "already has an account" in html
    status, html = _signup(client, "y@example.org", " ")
    assert status == 400 and "Name your team" in html


def test_login_and_logout(client: FlaskClient, login: AuthActions) -> None:
    assert client.get("/account").status_code == 302
    login.login()
    assert client.get("/account").status_code == 200
    assert client.get("/logout").status_code == 405  # only POST logs out
    response = login.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302


def test_unauthenticated_pages_redirect_to_login_with_next(client: FlaskClient) -> None:
    response = client.get("/account?tab=tokens")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account?tab%3Dtokens"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("//evil.example/x", "/history"),
        ("https://evil.example/", "/history"),
        ("/\\evil.example", "/history"),
        ("javascript:alert(1)", "/history"),
    ],
)
def test_next_only_goes_to_local_paths(
    client: FlaskClient, ada: Member, target: str, expected: str
) -> None:
    data = {"email": EMAIL, "password": PASSWORD, "next": target}
    response = client.post("/login", data=data)
    assert response.headers["Location"] == expected


def test_wrong_password_is_refused(client: FlaskClient, ada: Member) -> None:
    response = client.post("/login", data={"email": EMAIL, "password": "wrong password"})
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "x" * 9})
    assert unknown.status_code == 401


def test_failed_logins_are_rate_limited(client: FlaskClient, ada: Member) -> None:
    bad = {"email": EMAIL, "password": "wrong password"}
    statuses = [client.post("/login", data=bad).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    # Now even the right password waits, and the page says for how long.
    blocked = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert "Try again in 15 minutes" in blocked.get_data(as_text=True)
    # Another email from the same address is not blocked.
    other = client.post("/login", data={"email": "b@example.org", "password": "nope nope"})
    assert other.status_code == 401


def test_parallel_logins_cannot_outrun_the_limit(
    make_app: Callable[..., Flask], ada: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve wrong passwords at once: the hash is slow, so a limit checked before any was
    counted would let them all be tried. Only the limit's worth may reach the hash."""
    app = make_app(LOGIN_MAX_FAILURES=3)
    checked: list[str] = []

    def slow_verify(_hash: str, password: str) -> bool:
        checked.append(password)
        time.sleep(0.3)  # like argon2: every request is past the limit check by now
        return False

    monkeypatch.setattr(auth_pages, "verify_password", slow_verify)
    bad = {"email": EMAIL, "password": "wrong password"}
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda _: app.test_client().post("/login", data=bad).status_code,
                                 range(12)))  # fmt: skip
    assert len(checked) == 3
    assert sorted(statuses) == [401, 401] + [429] * 10


def test_one_address_spraying_many_emails_is_limited(
    make_app: Callable[..., Flask], ada: Member
) -> None:
    client = make_app(LOGIN_MAX_FAILURES_PER_IP=3).test_client()
    statuses = [
        client.post(
            "/login", data={"email": f"u{n}@example.org", "password": "guess123"}
        ).status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    refused = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 429 and "from your network" in refused.text
    # Another address has its own budget.
    other = make_app(LOGIN_MAX_FAILURES_PER_IP=3).test_client()
    ok = other.post("/login", data={"email": EMAIL, "password": PASSWORD},
                    environ_base={"REMOTE_ADDR": "10.9.8.7"})  # fmt: skip
    assert ok.status_code == 302


def test_successful_logins_do_not_use_up_the_address_budget(
    make_app: Callable[..., Flask], ada: Member
) -> None:
    app = make_app(LOGIN_MAX_FAILURES_PER_IP=2)
    for _ in range(4):
        AuthActions(app.test_client()).login()


@pytest.mark.parametrize("store", ["redis", "memory"])
def test_the_limiter_counts_before_checking(store: str, system_redis_url: str) -> None:
    """``count`` is the atomic step; with Redis down the counts live in this process."""
    if store == "redis":
        client = redis.Redis.from_url(system_redis_url)
    else:
        # From a URL, as the web builds its clients: redis-py gives those up on a refused
        # connection at once, while Redis(host=..., port=...) sleeps through ten retries.
        client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = AttemptLimiter(client=client, prefix=f"t-{uuid.uuid4().hex}", limit=2, window_s=60)
    key = limiter.key("a@example.org", "10.0.0.1")
    counts = [limiter.count(key) for _ in range(3)]
    assert [c for c, _ in counts] == [1, 2, 3] and all(0 < left <= 61 for _, left in counts)
    assert [limiter.over(c) for c, _ in counts] == [False, False, True]
    limiter.give_back(key)
    assert limiter.count(key)[0] == 3
    limiter.reset(key)
    assert limiter.count(key)[0] == 1
    limiter.reset(key)
    limiter.give_back(key)  # on a key that is gone: must not leave a -1 without expiry
    assert limiter.count(key)[0] == 1
    limiter.reset(key)


def test_csrf_is_required_on_forms(make_app: Callable[..., Flask], ada: Member) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    refused = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 400
    assert refused.mimetype == "text/html" and "Reload the page" in refused.get_data(as_text=True)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    AuthActions(client).login(csrf_token=token)
    # The API authenticates with bearer tokens, so it is exempt: 401, not a CSRF 400.
    assert client.post("/api/v1/jobs", json={}).status_code == 401


def _cookie(client: FlaskClient, **data: str) -> str:
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, **data})
    return "\n".join(response.headers.getlist("Set-Cookie"))


def test_cookie_flags(make_app: Callable[..., Flask], ada: Member) -> None:
    cookies = _cookie(make_app().test_client(), remember="on")
    assert "session=" in cookies and "remember_token=" in cookies
    for line in cookies.splitlines():
        assert "HttpOnly" in line and "SameSite=Lax" in line and "Secure" not in line
    https = make_app(PREFERRED_URL_SCHEME="https").test_client()
    secure = _cookie(https, remember="on").splitlines()
    assert len(secure) == 2 and all("; Secure" in line for line in secure)


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_errors_are_pages_except_for_the_api(client: FlaskClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json and "error" in api.json
    assert client.get("/healthz").is_json


def test_user_text_is_escaped(client: FlaskClient) -> None:
    evil = "<script>alert(1)</script>"
    status, _ = _signup(client, "mallory@example.org", evil)
    assert status == 302
    html = client.get("/account").get_data(as_text=True)
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_signups_are_rate_limited_per_address(
    make_app: Callable[..., Flask], sessions: sessionmaker[Session]
) -> None:
    """Ten accounts an hour from one address; failed sign-ups do not use up that budget."""
    app = make_app()
    assert app.test_client().post("/signup", data={"email": "x"}).status_code == 400
    assert _signup(app.test_client(), "bad@example.org", "T", confirm="differs")[0] == 400
    assert _signup(app.test_client(), "short@example.org", "T", password="short")[0] == 400
    statuses = [_signup(app.test_client(), f"u{n}@example.org", f"Team {n}")[0] for n in range(10)]
    assert statuses == [302] * 10
    status, html = _signup(app.test_client(), "u10@example.org", "Team 10")
    assert status == 429 and "Too many sign-ups from your network" in html
    with sessions() as session:
        assert session.scalar(select(User).filter_by(email="u10@example.org")) is None
    refused = app.test_client().post("/signup", data={"email": "u11@example.org"})
    assert refused.status_code == 400  # incomplete forms are answered, not counted
    blocked = app.test_client().post(
        "/signup",
        data={"email": "u11@example.org", "password": PASSWORD, "confirm": PASSWORD,
              "team_name": "Team 11"},
    )  # fmt: skip
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 60 * 60
    assert "Try again in" in blocked.text
    # Another address has its own budget.
    other = app.test_client().post(
        "/signup",
        data={"email": "u12@example.org", "password": PASSWORD, "confirm": PASSWORD,
              "team_name": "Team 12"},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )  # fmt: skip
    assert other.status_code == 302


def test_a_refused_signup_gives_its_count_back(make_app: Callable[..., Flask], ada: Member) -> None:
    app = make_app(SIGNUP_MAX_PER_IP=1)
    status, html = _signup(app.test_client(), EMAIL, "Another team")  # email taken
    assert status == 400 and "already has an account" in html
    assert _signup(app.test_client(), "new@example.org", ada.team)[0] == 400  # team taken
    assert _signup(app.test_client(), "new@example.org", "New team")[0] == 302
    assert _signup(app.test_client(), "newer@example.org", "Newer team")[0] == 429


def test_parallel_signups_cannot_outrun_the_limit(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count comes before the (slow) account creation, so eight sign-ups at once from
    one address cannot all pass a limit of three."""
    app = make_app(SIGNUP_MAX_PER_IP=3)
    started: list[str] = []
    release = threading.Event()

    def slow_sign_up(*args: object, **kwargs: object) -> None:
        # Held until every other request has been answered, so none can be refunded early.
        started.append(str(args[1]))
        release.wait(30)
        raise auth_pages.AccountError("refused in this test")

    monkeypatch.setattr(auth_pages, "sign_up", slow_sign_up)
    with ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(lambda n: _signup(app.test_client(), f"u{n}@example.org", f"T{n}")[0], n)
            for n in range(8)
        ]
        deadline = time.monotonic() + 30
        while sum(f.done() for f in futures) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        answered_before_release = sum(f.done() for f in futures)
        release.set()
        statuses = [f.result(timeout=30) for f in futures]
    assert answered_before_release == 5 and len(started) == 3
    assert sorted(statuses) == [400] * 3 + [429] * 5


def test_a_team_name_longer_than_the_column_is_a_field_error(client: FlaskClient) -> None:
    status, html = _signup(client, "long@example.org", "T" * 201)
    assert status == 400 and "Use at most 200 characters." in html
    assert 'aria-describedby="team_name-error team_name-help"' in html
