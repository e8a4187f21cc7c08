"""/history: the page's filters, counts, bad values and team scope (the query itself is
tested in tests/shared/results/test_history.py)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.fixtures.factories import Factory, Member
from tests.fixtures.web import AuthActions


def listed(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="r" value="(\d+)"', html)]


def test_history_page_filters_pages_and_shows_submitter(
    login: AuthActions, many: list[int]
) -> None:
    member = login.login()
    html = member.get("/history?q=graphs&p_min=0.2").get_data(as_text=True)
    assert listed(html) == [many[9], many[6], many[3]]
    assert "3 results match the filters" in html
    assert "ada@example.org" in html  # result 3's first job
    first = member.get("/history").get_data(as_text=True)
    assert "12 results" in first and len(listed(first)) == 12


def test_history_filters_by_status(
    login: AuthActions, make: Factory, team_id: int, many: list[int]
) -> None:
    cancelled = make.result(team_id, status="cancelled")
    member = login.login()
    html = member.get("/history?status=cancelled").get_data(as_text=True)
    assert listed(html) == [cancelled]
    assert 'class="badge badge-cancelled">cancelled' in html
    assert len(listed(member.get("/history?status=done").get_data(as_text=True))) == 12
    wrong = member.get("/history?status=lost").get_data(as_text=True)
    assert "status must be one of pending, running, done, failed, cancelled" in wrong
    assert len(listed(wrong)) == 13


def test_history_bad_values_are_reported_not_fatal(login: AuthActions, many: list[int]) -> None:
    member = login.login()
    html = member.get("/history?p_min=2&since=yesterday&after=junk").get_data(as_text=True)
    assert "p min must be a number from 0 to 1" in html
    assert "since must be a date" in html
    assert len(listed(html)) == 12


def test_history_shows_only_the_team_and_escapes(
    login: AuthActions,
    make: Factory,
    team_id: int,
    bob: Member,
) -> None:
    member = login.login()
    mine = make.result(team_id, title='<script>alert(1)</script> & "quotes"')
    theirs = make.result(bob.team_id, title="Theirs")
    html = member.get("/history").get_data(as_text=True)
    assert listed(html) == [mine] and theirs not in listed(html)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_the_address_occlab_run_prints_opens_a_page(
    client: FlaskClient, login: AuthActions
) -> None:
    first = client.get("/", follow_redirects=True)  # not logged in: the login form, then back
    assert first.status_code == 200 and 'name="password"' in first.get_data(as_text=True)
    assert first.request.path == "/login" and first.request.args["next"] == "/history"
    login.login()
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200 and home.request.path == "/history"
