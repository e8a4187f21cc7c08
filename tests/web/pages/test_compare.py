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
    assert "Tick two results" in one and f'value="{a}" checked' in one


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


def radios(html: str, name: str) -> list[int]:
    return [int(v) for v in re.findall(rf'type="radio" name="{name}" value="(\d+)"', html)]


def test_results_are_picked_from_the_history_by_search(
    login: AuthActions, many: list[int], make: Factory, team_id: int
) -> None:
    member = login.login()
    html = member.get("/compare").get_data(as_text=True)
    newest = list(reversed(many))
    assert radios(html, "a") == newest[:8] and radios(html, "b") == newest[:8]  # no typing
    assert "search more closely" in html
    found = member.get("/compare?qa=graphs&qb=doi:10/7").get_data(as_text=True)
    assert radios(found, "a") == [many[k] for k in (9, 6, 3, 0)]
    assert radios(found, "b") == [many[7]]  # by external id
    # Picking one on each side shows both; the searches and the picks stay in the form.
    x, y = make.result(team_id, title="Graphs of trust"), make.result(team_id, title="Trees")
    listed = member.get("/compare?qa=graphs+of&qb=trees").get_data(as_text=True)
    assert radios(listed, "a") == [x] and radios(listed, "b")[0] == y
    picked = member.get(f"/compare?qa=graphs+of&a={x}&qb=trees&b={y}")
    page = picked.get_data(as_text=True)
    assert picked.status_code == 200 and page.count("data-heatmap ") == 2
    assert 'name="qa" type="search" value="graphs of"' in page
    assert f'name="a" value="{x}" checked' in page and f'name="b" value="{y}" checked' in page
    # A pick the search no longer lists stays listed (first) and picked.
    narrowed = member.get(f"/compare?qa=nothing-like-this&a={x}").get_data(as_text=True)
    assert radios(narrowed, "a") == [x] and "No result matches" in narrowed


def test_errors_keep_the_form(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    a = make.result(team_id)
    same = member.get(f"/compare?qa=social&a={a}&b={a}&view=difference").get_data(as_text=True)
    assert "choose two different results" in same
    assert 'value="social"' in same and same.count(f'value="{a}" checked') == 2
    assert 'name="view" value="difference" checked' in same
    missing = member.get(f"/compare?qa=social&a={a}&b=999999")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "Your team has no result 999999 (result B)" in page
    assert f'value="{a}" checked' in page and 'value="social"' in page


def test_the_difference_view_of_any_two(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    a, b = make.result(team_id), make.result(team_id, title="Social media again")
    html = member.get(f"/compare?a={a}&b={b}&view=difference").get_data(as_text=True)
    assert f"B (#{b}) against A (#{a})" in html
    assert 'id="heatmap-cmp-old"' in html and 'id="heatmap-cmp-new"' in html
    # The same units and grid: every cell compared, each the same.
    assert "6 of 6 cells are" in html and "Abstract: 0 added, 0 removed, 0 changed, 3" in html
    assert html.count('<td class="hm-cell p-50"') == 6
    side = member.get(f"/compare?a={a}&b={b}").get_data(as_text=True)
    assert "diff-grid" not in side and side.count("data-heatmap ") == 2
