"""/compare: two results side by side on one colour scale; picking them; scoping."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import authenticate_token
from tests.web.pages.test_results_pages import log_in


@pytest.fixture
def member(client: FlaskClient, token: str) -> FlaskClient:
    log_in(client)
    return client


def test_two_results_side_by_side(
    member: FlaskClient, seed_result: Callable[..., int], team_id: int
) -> None:
    a, b = seed_result(team_id), seed_result(team_id, title="Other paper")
    html = member.get(f"/compare?a={a}&b={b}").get_data(as_text=True)
    assert html.count("data-heatmap ") == 2
    assert "Social media" in html and "Other paper" in html
    assert "B − A = +0.000" in html and "Two papers under" in html  # noqa: RUF001
    assert 'id="heatmap-cmp-A"' in html and 'id="heatmap-cmp-B"' in html
    # One scale: identical grids give identical colour classes on both sides.
    sides = html.split('id="heatmap-cmp-B"')
    assert re.findall(r"hm-cell (p-\d+)", sides[0]) == re.findall(r"hm-cell (p-\d+)", sides[1])


def test_ticked_in_history(
    member: FlaskClient, seed_result: Callable[..., int], team_id: int
) -> None:
    a, b = seed_result(team_id), seed_result(team_id, title="B")
    html = member.get(f"/compare?r={a}&r={b}").get_data(as_text=True)
    assert f'value="{a}"' in html and f'value="{b}"' in html and html.count("data-heatmap ") == 2
    one = member.get(f"/compare?r={a}").get_data(as_text=True)
    assert "Tick two results" in one


def test_pending_side_and_bad_ids(
    member: FlaskClient, seed_result: Callable[..., int], team_id: int
) -> None:
    a, b = seed_result(team_id), seed_result(team_id, status="pending", title="Later")
    html = member.get(f"/compare?a={a}&b={b}").get_data(as_text=True)
    assert html.count("data-heatmap ") == 1 and "Not done yet" in html
    assert "must be a result number" in member.get("/compare?a=x&b=1").get_data(as_text=True)
    assert "Choose two results" in member.get("/compare").get_data(as_text=True)


def test_other_team_is_404(
    member: FlaskClient,
    seed_result: Callable[..., int],
    team_id: int,
    other_token: str,
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        row = authenticate_token(s, other_token)
        assert row is not None
        theirs = seed_result(row.team_id, title="Theirs")
    assert member.get(f"/compare?a={seed_result(team_id)}&b={theirs}").status_code == 404
