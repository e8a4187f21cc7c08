"""The result page: heat-map cells, leave-one-out colours, activations, downloads, scoping."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Result
from tests.fixtures.factories import GRID, LOO, UNITS, Explained, Factory, Member, result
from tests.fixtures.web import AuthActions
from web.pages.result_view import colour_class, density

EVIL = '<script>alert(1)</script> & "quotes"'
TRACED = {
    "bias": -0.25,
    "top_features": [
        {
            "feature": "abstract.fwd.3",
            "activation": 0.8,
            "weight": 1.5,
            "contribution": 1.2,
            "field": "abstract",
            "direction": "fwd",
            "trace": [0.1, 0.5, 0.8],
        },
        {
            "feature": "title.bwd.0",
            "activation": -0.5,
            "weight": 0.9,
            "contribution": -0.45,
            "field": "title",
            "direction": "bwd",
            "trace": [-0.5, -0.2],
        },
    ],
    "fields": {
        "title": {"tokens": ["social", "media"], "running_probability": [0.3, 0.6]},
        "abstract": {"tokens": ["we", "study", "it"], "running_probability": [0.2, 0.4, 0.9]},
    },
}


def cells(html: str) -> dict[tuple[int, int], str]:
    found = re.findall(r'data-i="(\d+)" data-j="(\d+)" data-p="([0-9.]+)"', html)
    return {(int(i), int(j)): p for i, j, p in found}


def test_result_page_draws_every_cell_with_its_value_and_prefixes(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    member = login.login()
    rid = make.result(team_id)
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    grid = cells(html)
    assert grid == {(i, j): f"{p:.6f}" for i, row in enumerate(GRID) for j, p in enumerate(row)}
    # Row 0 (the first title word) is drawn at the bottom: the last row of the table.
    assert html.index('data-i="1" data-j="0"') < html.index('data-i="0" data-j="0"')
    label = "Title words 1–2 (to “media”), abstract sentences 1–3 (to “Trees.”)"  # noqa: RUF001
    assert f"{label}: P = 0.900 · log-odds +2.20" in html
    p_html = member.get(f"/results/{rid}?scale=p").get_data(as_text=True)
    assert f'class="hm-cell {colour_class(0.1)} ' in p_html  # red, low P
    assert "edge-top" in html and "edge-right" in html  # the 0.5 boundary is drawn
    data = json.loads(re.search(r"data-heatmap-data>(.*?)</script>", html, re.S).group(1))  # type: ignore[union-attr]
    assert data["title"] == ["Social", "media"]
    assert data["abstract"] == ["We study it.", "It matters.", "Trees."]
    assert "S1 We study it." in html and "+ media" in html
    assert 'aria-live="polite"' in html and "Show values" in html


def test_leave_one_out_colours_values_and_skipped_words(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    member = login.login()
    html = member.get(f"/results/{make.result(team_id)}").get_data(as_text=True)
    scale = 0.5  # the largest |delta|
    for delta in LOO["title"] + LOO["abstract"]:
        assert f"ΔP when removed: {delta:+.4f}" in html
        assert colour_class(0.5 - 0.5 * delta / scale) in html
    assert 'class="loo-unit p-0' in html  # abstract S1: delta +0.5, removing it raises P: red
    assert '<span class="oov">Trees.</span>' in html
    assert "is-unknown" in html  # the sentence has no known word


def test_activations_bars_traces_and_running_probability(
    login: AuthActions,
    make: Factory,
    team_id: int,
    sessions: sessionmaker[Session],
) -> None:
    member = login.login()
    rid = make.result(team_id)
    with sessions.begin() as session:
        session.get_one(Result, rid).activations = TRACED
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    assert "abstract.fwd.3: activation +0.8000 × weight +1.5000 = +1.2000" in html  # noqa: RUF001
    assert '<li class="bar-row bar-neg"' in html and "\u22120.450" in html
    # Named in words: the field, the direction it is read in, the index, what it does.
    assert '<span class="bar-where">Abstract, read forwards, #3</span>' in html
    assert '<span class="bar-what">pushes towards computational</span>' in html
    assert "Title, read backwards, #0" in html and "pushes towards not computational" in html
    assert '<option value="1">Title, read backwards, #0 (-0.450)</option>' in html
    assert 'data-trace="1" hidden' in html
    assert "study: 0.4000" in html  # running P at the second abstract token
    assert "Running probability over the title tokens" in html


def test_activations_without_traces_say_so(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    html = member.get(f"/results/{make.result(team_id)}").get_data(as_text=True)
    assert "stores no per-token traces" in html


def test_downloads(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    rid = make.result(team_id)
    png = member.get(f"/results/{rid}/heatmap.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = member.get(f"/results/{rid}/heatmap.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    got = member.get(f"/results/{rid}/grid.csv")
    assert got.mimetype == "text/csv" and "attachment" in got.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
    assert len(rows) == 6
    assert rows[5] == {
        "title_prefix": "2",
        "abstract_prefix": "3",
        "title_added": "media",
        "abstract_added": "Trees.",
        "probability": "0.900000",
    }
    body = member.get(f"/results/{rid}/result.json")
    assert body.mimetype == "application/json"
    assert body.json["probabilities"] == GRID and body.json["html_url"] == f"/results/{rid}"


def test_an_svg_heat_map_may_style_itself_but_run_nothing(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    member = login.login()
    rid = make.result(team_id)
    svg = member.get(f"/results/{rid}/heatmap.svg")
    assert b"<style" in svg.data and b'style="fill' in svg.data  # what the page CSP blocks
    csp = svg.headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in csp and "default-src 'none'" in csp
    assert "script-src" not in csp  # so default-src 'none' forbids every script
    page_csp = member.get(f"/results/{rid}").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page_csp


def test_other_teams_result_is_404_everywhere(
    login: AuthActions,
    make: Factory,
    bob: Member,
) -> None:
    member = login.login()
    theirs = make.result(bob.team_id)
    for suffix in ("", "/heatmap.png", "/heatmap.svg", "/grid.csv", "/result.json"):
        assert member.get(f"/results/{theirs}{suffix}").status_code == 404
    assert member.get("/results/999999").status_code == 404


def test_logged_out_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/results/1")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_user_text_is_escaped(login: AuthActions, make: Factory, team_id: int) -> None:
    member = login.login()
    html = member.get(f"/results/{make.result(team_id, title=EVIL)}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html


@pytest.mark.parametrize("status", ["pending", "running"])
def test_pending_result_shows_its_status(
    login: AuthActions, make: Factory, team_id: int, status: str
) -> None:
    member = login.login()
    rid = make.result(team_id, status=status)
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    assert "Not ready yet" in html and f"<strong>{status}</strong>" in html
    assert "data-heatmap" not in html
    assert member.get(f"/results/{rid}/heatmap.png").status_code == 409


def test_failed_result_shows_the_error(
    login: AuthActions,
    make: Factory,
    team_id: int,
    sessions: sessionmaker[Session],
) -> None:
    member = login.login()
    rid = make.result(team_id, status="failed")
    with sessions.begin() as session:
        session.get_one(Result, rid).error = "title: no word the model <knows>"
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    assert "This explanation failed" in html
    assert "title: no word the model &lt;knows&gt;" in html


def test_grid_csv_cells_cannot_run_as_formulas(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    """A paper's own words reach the CSV as labels; a spreadsheet must show, not run, them."""
    title = ['=HYPERLINK("http://x","y")', "@SUM(A1)"]
    abstract = ["-1+2", "\tTabbed.", "-0.25"]  # the grid is sized by the stored units
    units = {
        "title": {**UNITS["title"], "unit": "sentence", "labels": title},
        "abstract": {**UNITS["abstract"], "labels": abstract},
    }
    with make.sessions.begin() as s:
        model_id = make.default_model(s).id
        explained = Explained(GRID, units, LOO)
        rid = result(s, team_id, model_id, title=title[0], explained=explained).id
    got = login.login().get(f"/results/{rid}/grid.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(got)))
    assert {r[2] for r in rows[1:]} == {"'" + t for t in title}
    assert [r[3] for r in rows[1:4]] == ["'-1+2", "'\tTabbed.", "-0.25"]
    assert rows[1][:2] == ["1", "1"] and rows[1][4] == "0.100000"


def test_the_page_lists_what_was_left_out(
    login: AuthActions, make: Factory, team_id: int, sessions: sessionmaker[Session]
) -> None:
    rid = make.result(team_id)
    line = "(c) 2016 Elsevier Ltd. All rights reserved."
    with sessions.begin() as session:
        row = session.get_one(Result, rid)
        row.units = {
            **UNITS,
            "abstract": {**UNITS["abstract"], "left_out": [{"rule": "copyright", "text": line}]},
        }
    html = login.login().get(f"/results/{rid}").get_data(as_text=True)
    assert "Left out" in html and f'<span class="oov">{line}</span>' in html
    assert "Abstract, copyright:" in html
    bare = make.result(team_id, title="Nothing left out")
    assert "Left out" not in login.login().get(f"/results/{bare}").get_data(as_text=True)


def test_the_whole_paper_cell_is_marked_and_linked(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    member = login.login()
    rid = make.result(team_id)
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    whole = re.findall(
        r'<td role="gridcell" class="[^"]*is-whole"[^>]*data-i="(\d)" data-j="(\d)"', html
    )
    assert whole == [("1", "2")]  # 2 title words x 3 sentences: the top-right cell, once
    assert f'href="#hm-whole-{rid}"' in html and f'id="hm-whole-{rid}"' in html
    assert "Whole paper (top-right cell): P = 0.900" in html
    assert 'class="heatmap hm-l"' in html and "is-wide" not in html  # 3 columns: large cells


@pytest.mark.parametrize(("n", "size"), [(1, "l"), (8, "l"), (9, "m"), (40, "m"), (41, "s")])
def test_cells_get_smaller_as_columns_grow(n: int, size: str) -> None:
    assert density(n) == size
