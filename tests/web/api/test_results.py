"""Results: the JSON of ``occlab explain`` rebuilt from SQL rows, heat maps, ETag and cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import redis
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.heatmap import render_heatmap
from shared.models import GridCell, Result
from shared.results.stored import EXPLAIN_KEYS
from shared.scales import DEFAULT, SCALES
from tests.fixtures.factories import ACTIVATIONS, GRID, LOO, SHIPPED, UNITS, Factory

URL = "/api/v1/results/{}"


def test_done_result_json(
    client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int
) -> None:
    rid = make.result(team_id)
    body = client.get(URL.format(rid), headers=auth).json
    assert body == {
        "id": rid,
        "status": "done",
        "error": None,
        "traces_status": "done",
        "probability": 0.9,
        "probabilities": GRID,
        "fields": ["title", "abstract"],
        "units": {"title": "word", "abstract": "sentence"},
        "title_units": UNITS["title"]["units"],
        "abstract_units": UNITS["abstract"]["units"],
        "labels": {f: UNITS[f]["labels"] for f in ("title", "abstract")},
        "leave_one_out": LOO,
        "skipped": {"title": [], "abstract": ["trees"]},
        "read_as_nothing": [],
        "left_out": {"title": [], "abstract": []},
        "model": {"name": "default", "version": SHIPPED["version"]},
        "faithfulness": None,  # stored before faithfulness was measured
        "minimal_flip": None,
        "activations": ACTIVATIONS,
        "paper": {
            "title": "Social media",
            "abstract": "We study it. It matters. Trees.",
            "external_id": "doi:10/1",
            "label": None,
        },
        "html_url": f"/results/{rid}",
    }


def test_pending_result_is_200_with_nulls_uncached(
    client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int
) -> None:
    rid = make.result(team_id, status="pending")
    response = client.get(URL.format(rid), headers=auth)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    body = response.json
    assert body["status"] == "pending"
    assert all(body[k] is None for k in EXPLAIN_KEYS if k != "model")
    heatmap = client.get(URL.format(rid) + "/heatmap.png", headers=auth)
    assert heatmap.status_code == 409 and "pending" in heatmap.json["error"]


def expected_image(fmt: str, scale: str = DEFAULT) -> bytes:
    return render_heatmap(
        np.array(GRID),
        UNITS["title"]["labels"],
        UNITS["abstract"]["labels"],
        heading="Social media",
        probability=0.9,
        row_axis="Title, word by word",
        col_axis="Abstract, sentence by sentence",
        col_unit="sentence",
        fmt=fmt,
        scale=scale,
    )


def test_heatmaps(client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int) -> None:
    rid = make.result(team_id)
    png = client.get(URL.format(rid) + "/heatmap.png", headers=auth)
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(URL.format(rid) + "/heatmap.svg", headers=auth)
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert svg.data == expected_image("svg")  # SVGs are byte-for-byte reproducible
    # Its own CSP lets its inline styles paint the cells (the pages' would leave it black).
    assert svg.headers["Content-Security-Policy"].startswith("default-src 'none'; style-src")
    assert client.get(URL.format(rid) + "/heatmap.gif", headers=auth).status_code == 404


def test_heatmap_scales_and_a_bad_one(
    client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int
) -> None:
    url = URL.format(make.result(team_id)) + "/heatmap.svg"
    got = {s: client.get(f"{url}?scale={s}", headers=auth) for s in SCALES}
    assert {s: r.data for s, r in got.items()} == {s: expected_image("svg", s) for s in SCALES}
    assert len({r.headers["ETag"] for r in got.values()}) == 3  # each scale its own cached view
    assert client.get(url, headers=auth).data == got[DEFAULT].data
    bad = client.get(f"{url}?scale=linear", headers=auth)
    assert bad.status_code == 400
    assert bad.json == {"error": "scale must be one of p, logodds, change; got 'linear'"}


def test_etag_and_304(
    client: FlaskClient, auth: dict[str, str], make: Factory, team_id: int
) -> None:
    rid = make.result(team_id)
    for path in (URL.format(rid), URL.format(rid) + "/heatmap.svg"):
        first = client.get(path, headers=auth)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")  # strong
        again = client.get(path, headers={**auth, "If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        other = client.get(path, headers={**auth, "If-None-Match": '"stale"'})
        assert other.status_code == 200 and other.data == first.data


def test_second_request_is_served_from_redis(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    team_id: int,
    sessions: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    rid = make.result(team_id)
    paths = [URL.format(rid), URL.format(rid) + "/heatmap.png"]
    first = [client.get(p, headers=auth).data for p in paths]
    assert len(list(redis_client.scan_iter(f"occlab:*:result:{rid}:*"))) >= 2
    with sessions.begin() as session:  # without its grid a result can no longer be rendered
        session.execute(delete(GridCell).where(GridCell.result_id == rid))
    assert [client.get(p, headers=auth).data for p in paths] == first


def test_redis_down_renders_uncached(
    make_app: Callable[..., Any],
    settings: Settings,
    auth: dict[str, str],
    make: Factory,
    team_id: int,
) -> None:
    down = settings.with_overrides(redis_url="redis://127.0.0.1:1/0")
    client = make_app(SETTINGS=down).test_client()
    rid = make.result(team_id)
    for path in (URL.format(rid), URL.format(rid) + "/heatmap.svg"):
        response = client.get(path, headers=auth)
        assert response.status_code == 200 and response.headers["ETag"]
    health = client.get("/healthz")
    assert health.status_code == 503
    # Workers are counted through Redis: with it down, their number is unknown, not 0.
    assert health.json == {
        "database": "ok",
        "redis": "error",
        "workers": None,
        "status": "degraded",
    }


def test_failed_result_reports_its_error(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    team_id: int,
    sessions: sessionmaker[Session],
) -> None:
    rid = make.result(team_id, status="failed")
    with sessions.begin() as session:
        session.get_one(Result, rid).error = "InputError: title is empty"
    body = client.get(URL.format(rid), headers=auth).json
    assert (body["status"], body["error"], body["probabilities"]) == (
        "failed",
        "InputError: title is empty",
        None,
    )
