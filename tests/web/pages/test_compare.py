"""/compare: two results side by side on one colour scale; picking them; scoping."""

from __future__ import annotations

import re

from tests.fixtures.factories import Factory, Member
from tests.fixtures.web import AuthActions


def test_two_results_side_by_side(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    a, b = make.result(team_id), make.result(team_id, title="Other paper")
    html = member.get(f"/compare?a={a}&b={b}").get_data(as_text=True)
    assert html.count("data-heatmap ") == 2
    assert "Social media" in html and "Other paper" in html
    assert "B − A = +0.000" in html and "Two papers under" in html  # noqa: RUF001
    assert 'id="heatmap-cmp-A"' in html and 'id="heatmap-cmp-B"' in html
    # One scale: identical grids give identical colour classes on both sides.
    sides = html.split('id="heatmap-cmp-B"')
    assert re.findall(r"hm-cell (p-\d+)", sides[0]) == re.findall(r"hm-cell (p-\d+)", sides[1])


def test_ticked_in_history(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    a, b = make.result(team_id), make.result(team_id, title="B")
    html = member.get(f"/compare?r={a}&r={b}").get_data(as_text=True)
    assert f'value="{a}"' in html and f'value="{b}"' in html and html.count("data-heatmap ") == 2
    one = member.get(f"/compare?r={a}").get_data(as_text=True)
    assert "Tick two results" in one


def test_pending_side_and_bad_ids(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    a, b = make.result(team_id), make.result(team_id, status="pending", title="Later")
    html = member.get(f"/compare?a={a}&b={b}").get_data(as_text=True)
    assert html.count("data-heatmap ") == 1 and "Not done yet" in html
    assert "must be a result number" in member.get("/compare?a=x&b=1").get_data(as_text=True)
    assert "Choose two results" in member.get("/compare").get_data(as_text=True)


def test_a_result_is_not_compared_with_itself(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    a = make.result(team_id)
    html = login.login().get(f"/compare?a={a}&b={a}").get_data(as_text=True)
    assert f"A and B are both result {a}: choose two different results." in html
    assert "data-heatmap " not in html and f'value="{a}"' in html  # the form keeps both ids


def test_other_team_is_404(
    login: AuthActions,
    make: Factory,
    team_id: int,
    bob: Member,
) -> None:
    member = login.login()
    theirs = make.result(bob.team_id, title="Theirs")
    assert member.get(f"/compare?a={make.result(team_id)}&b={theirs}").status_code == 404
