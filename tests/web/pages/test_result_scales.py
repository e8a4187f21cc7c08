"""The result page's colour scales: the user's remembered choice, switching it (with CSRF),
``?scale=`` for one view, bad values, and the downloads in each scale, cached apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import redis
from sqlalchemy.orm import Session, sessionmaker

from shared.heatmap import render_heatmap
from shared.models import User
from shared.scales import DEFAULT, SCALES, Scale
from tests.fixtures.factories import CONFIDENT, GRID, UNITS, Factory, Member
from tests.fixtures.web import AuthActions, csrf_from


def shown_scale(html: str) -> str:
    found = re.search(r'data-scale="(\w+)"', html)
    assert found is not None, "no colour bar on the page"
    return found[1]


def pressed(html: str) -> list[str]:
    return re.findall(r'value="(\w+)" class="segment is-on" aria-pressed="true"', html)


def remember(sessions: sessionmaker[Session], member: Member, scale: str | None) -> None:
    with sessions.begin() as session:
        session.get_one(User, member.user_id).heatmap_scale = scale


def stored(sessions: sessionmaker[Session], member: Member) -> str | None:
    with sessions() as session:
        return session.get_one(User, member.user_id).heatmap_scale


def test_default_is_log_odds_with_the_tooltip_and_colour_bar_saying_so(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    html = login.login().get(f"/results/{make.result(team_id)}").get_data(as_text=True)
    assert shown_scale(html) == DEFAULT == "logodds" and pressed(html) == ["logodds"]
    assert 'data-tip="P = 0.100 · log-odds \u22122.20"' in html  # cell (0, 0)
    assert "log-odds of P(computational)" in html and '<span class="tick-p">P 0.50</span>' in html
    for fmt in ("png", "svg"):
        assert f"/heatmap.{fmt}?scale=logodds" in html  # downloads follow the view


def test_the_page_renders_with_the_users_remembered_scale(
    login: AuthActions, make: Factory, ada: Member, sessions: sessionmaker[Session]
) -> None:
    client = login.login()
    rid = make.result(ada.team_id)
    remember(sessions, ada, "change")
    html = client.get(f"/results/{rid}").get_data(as_text=True)
    assert shown_scale(html) == "change" and pressed(html) == ["change"]
    assert "P = 0.100 · change \u22120.800 from the whole paper" in html
    remember(sessions, ada, "retired")  # a scale no longer offered reads as the default
    assert shown_scale(client.get(f"/results/{rid}").get_data(as_text=True)) == DEFAULT


def test_switching_stores_the_choice_with_csrf(
    make_app: Callable[..., Any], make: Factory, ada: Member, sessions: sessionmaker[Session]
) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": ada.email, "password": "correct horse battery",
                                "csrf_token": token})  # fmt: skip
    rid = make.result(ada.team_id)
    assert client.post(f"/results/{rid}/scale", data={"scale": "p"}).status_code == 400
    assert stored(sessions, ada) is None  # no token, no change
    token = csrf_from(client.get(f"/results/{rid}").get_data(as_text=True))
    moved = client.post(f"/results/{rid}/scale", data={"scale": "p", "csrf_token": token})
    assert moved.status_code == 302 and moved.headers["Location"] == f"/results/{rid}#hm-h"
    assert stored(sessions, ada) == "p"
    html = client.get(f"/results/{rid}").get_data(as_text=True)
    assert shown_scale(html) == "p" and 'data-tip="P = 0.100"' in html


def test_a_bad_choice_is_refused_with_a_message(
    login: AuthActions, make: Factory, ada: Member, sessions: sessionmaker[Session]
) -> None:
    client = login.login()
    rid = make.result(ada.team_id)
    answer = client.post(f"/results/{rid}/scale", data={"scale": "rainbow"}, follow_redirects=True)
    assert "Choose one of the colour scales: p, logodds, change." in answer.get_data(as_text=True)
    assert stored(sessions, ada) is None
    theirs = make.result(make.user("eve@example.org", "Eve's").team_id)
    assert client.post(f"/results/{theirs}/scale", data={"scale": "p"}).status_code == 404


def test_the_query_overrides_for_that_view_only(
    login: AuthActions, make: Factory, ada: Member, sessions: sessionmaker[Session]
) -> None:
    client = login.login()
    rid = make.result(ada.team_id)
    remember(sessions, ada, "change")
    html = client.get(f"/results/{rid}?scale=p").get_data(as_text=True)
    assert shown_scale(html) == "p" and "/heatmap.png?scale=p" in html
    assert stored(sessions, ada) == "change"
    assert shown_scale(client.get(f"/results/{rid}").get_data(as_text=True)) == "change"


def test_a_bad_query_is_ignored_with_a_message(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    client = login.login()
    answer = client.get(f"/results/{make.result(team_id)}?scale=<b>rainbow</b>")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and shown_scale(html) == DEFAULT
    assert "There is no colour scale “&lt;b&gt;rainbow&lt;/b&gt;”: showing Log-odds." in html
    assert "The scales are p, logodds, change." in html


def test_a_confident_paper_is_many_colours_by_default_and_one_in_p(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    client = login.login()
    rid = make.result(team_id, explained=CONFIDENT)

    def classes(query: str) -> set[str]:
        html = client.get(f"/results/{rid}{query}").get_data(as_text=True)
        return set(re.findall(r'class="hm-cell (p-\d+)', html))

    assert len(classes("")) >= 12 and len(classes("?scale=p")) <= 5


def expected_svg(scale: str) -> bytes:
    return render_heatmap(
        np.array(GRID),
        UNITS["title"]["labels"],
        UNITS["abstract"]["labels"],
        heading="Social media",
        probability=0.9,
        fmt="svg",
        scale=scale,
    )


def test_downloads_honour_the_scale_and_are_cached_apart(
    login: AuthActions,
    make: Factory,
    ada: Member,
    sessions: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    client = login.login()
    rid = make.result(ada.team_id)
    url = f"/results/{rid}/heatmap.svg"
    got = {s: client.get(f"{url}?scale={s}").data for s in SCALES}
    assert got == {s: expected_svg(s) for s in SCALES}
    assert len(set(got.values())) == 3  # the cache never hands one scale's image for another
    found = redis_client.scan_iter(f"occlab:*:result:{rid}:*")
    keys = {k.decode().rsplit(":", 1)[1] for k in found}
    assert {f"heatmap.svg.{s}.titled" for s in SCALES} <= keys
    assert client.get(url).data == got[DEFAULT]
    remember(sessions, ada, Scale.CHANGE.value)
    assert client.get(url).data == got["change"]  # no query: the remembered choice
    bad = client.get(f"{url}?scale=rainbow")
    assert bad.status_code == 400
    assert "Scale must be one of p, logodds, change; got &#39;rainbow&#39;" in bad.get_data(
        as_text=True
    )


def test_compare_shares_one_range_in_the_users_scale(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    member = login.login()
    a, b = make.result(team_id), make.result(team_id, explained=CONFIDENT, title="Sure")
    html = member.get(f"/compare?a={a}&b={b}").get_data(as_text=True)
    bars = re.findall(r'data-scale="(\w+)"', html)
    assert bars == ["logodds", "logodds"]
    tops = re.findall(r'<ol class="colourbar-ticks" aria-hidden="true">\s*<li>([^<]+)<', html)
    assert len(tops) == 2 and tops[0] == tops[1]  # one range: the confident paper's
    assert "There is no colour scale" in member.get(f"/compare?a={a}&b={b}&scale=x").get_data(
        as_text=True
    )
