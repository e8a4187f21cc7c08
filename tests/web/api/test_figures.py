"""A result's figures through the API and the result page: the heat map, leave-one-out text
and contributions as PNG (150 or 300 dpi) and SVG (editable text), title on or off, cached
per choice; bad options answered 400 and a result without contributions 404."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.fixtures.factories import SMALL, Factory
from tests.fixtures.web import AuthActions

URL = "/api/v1/results/{}/{}.{}"
TOP = [
    {"feature": "abstract.bwd.47", "activation": 0.4, "weight": 0.5, "contribution": 0.2,
     "field": "abstract", "direction": "bwd", "trace": None},
    {"feature": "title.fwd.2", "activation": 0.3, "weight": -0.3, "contribution": -0.09,
     "field": "title", "direction": "fwd", "trace": None},
]  # fmt: skip
FEATURED = replace(SMALL, activations={"bias": 0.5, "top_features": TOP, "fields": {}})


def texts(svg: bytes) -> str:
    return " ".join(
        "".join(t.itertext()) for t in ET.fromstring(svg).iter() if t.tag.endswith("}text")
    )


@pytest.mark.parametrize("figure", ["heatmap", "loo", "contributions"])
def test_each_figure_as_png_and_svg(
    client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int, figure: str
) -> None:
    rid = make.result(team_id, explained=FEATURED)
    svg = client.get(URL.format(rid, figure, "svg"), headers=auth)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    words = texts(svg.data)
    assert "Social media" in words  # the title, on by default
    expected = {"heatmap": "We study it.", "loo": "matters.", "contributions": "read backwards"}
    assert expected[figure] in words
    bare = client.get(URL.format(rid, figure, "svg") + "?title=0", headers=auth)
    assert "Social media" not in texts(bare.data)
    assert bare.headers["ETag"] != svg.headers["ETag"]  # each choice cached on its own
    png = client.get(URL.format(rid, figure, "png") + "?dpi=300", headers=auth)
    assert png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).info["dpi"] == pytest.approx((300, 300), abs=0.05)
    again = client.get(URL.format(rid, figure, "png") + "?dpi=300", headers=auth)
    assert again.data == png.data and again.headers["ETag"] == png.headers["ETag"]


def test_bad_options_and_missing_contributions(
    client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int
) -> None:
    rid = make.result(team_id)  # SMALL: activations without any top feature
    bad_dpi = client.get(URL.format(rid, "loo", "png") + "?dpi=299", headers=auth)
    assert bad_dpi.status_code == 400 and bad_dpi.json == {
        "error": "dpi must be one of 150, 300; got '299'"
    }
    bad_title = client.get(URL.format(rid, "heatmap", "svg") + "?title=maybe", headers=auth)
    assert bad_title.status_code == 400 and "title must be 1" in bad_title.json["error"]
    none = client.get(URL.format(rid, "contributions", "svg"), headers=auth)
    assert none.status_code == 404 and "no feature contributions" in none.json["error"]
    pending = make.result(team_id, status="pending")
    assert client.get(URL.format(pending, "loo", "svg"), headers=auth).status_code == 409


def test_the_page_downloads_each_figure_and_its_form_sends_the_choice_on(
    login: AuthActions, make: Factory, team_id: int
) -> None:
    member = login.login()
    rid = make.result(team_id, explained=FEATURED)
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    assert 'value="contributions"' in html and 'value="png300"' in html
    form = member.get(f"/results/{rid}/figure?figure=loo&format=png300&scale=p")
    assert form.status_code == 303
    location = form.headers["Location"]
    assert f"/results/{rid}/loo.png?" in location and "dpi=300" in location
    assert "title=0" in location and "download=1" in location  # the box unticked: no title
    got = member.get(location)
    assert got.mimetype == "image/png"
    assert got.headers["Content-Disposition"] == f'attachment; filename="result-{rid}-loo.png"'
    assert Image.open(io.BytesIO(got.data)).info["dpi"] == pytest.approx((300, 300), abs=0.05)
    inline = member.get(f"/results/{rid}/loo.svg")  # a link opened in a tab shows it
    assert inline.headers["Content-Disposition"] == f'inline; filename="result-{rid}-loo.svg"'
    titled = member.get(f"/results/{rid}/figure?figure=heatmap&format=svg&title=1")
    assert "title=1" in titled.headers["Location"]
    assert member.get(f"/results/{rid}/figure?figure=pie&format=svg").status_code == 400
    assert member.get(f"/results/{rid}/loo.png?dpi=72").status_code == 400
