"""Traces on demand: a done bulk result's page and JSON ask a worker for its per-token traces
once, show the contributions meanwhile, and never keep serving the trace-less JSON; the
``detail`` option of a submission."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import utcnow
from shared.jobs.dispatch import COMPUTE_TRACES, PROCESS_CHUNK
from shared.models import Job, Result
from tests.fixtures.factories import Factory
from tests.fixtures.web import AuthActions, FakeCelery, SentTask

FEATURE = {"activation": 0.8, "weight": 1.5, "contribution": 1.2, "field": "abstract"}
BULK = {
    "bias": 0.5,
    "top_features": [{"feature": "abstract.fwd.3", **FEATURE, "direction": "fwd", "trace": None}],
    "fields": {f: {"tokens": None, "running_probability": None} for f in ("title", "abstract")},
}
TRACED = {
    **BULK,
    "top_features": [{**BULK["top_features"][0], "trace": [0.1, 0.8]}],  # type: ignore[dict-item]
    "fields": {
        "title": {"tokens": ["social"], "running_probability": [0.3]},
        "abstract": {"tokens": ["we", "study"], "running_probability": [0.2, 0.4]},
    },
}
URL = "/api/v1/results/{}"


def bulk_result(make: Factory, sessions: sessionmaker[Session], team_id: int) -> int:
    rid = make.result(team_id)
    with sessions.begin() as session:
        session.get_one(Result, rid).activations = BULK
    return rid


def traces_task(settings: Settings, rid: int) -> SentTask:
    return SentTask(COMPUTE_TRACES, [rid], settings.detail_queue, committed=1)


def test_the_json_of_a_bulk_result_asks_for_traces_once(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    sessions: sessionmaker[Session],
    settings: Settings,
    team_id: int,
    broker: FakeCelery,
) -> None:
    rid = bulk_result(make, sessions, team_id)
    first, second = (client.get(URL.format(rid), headers=auth) for _ in range(2))
    assert broker.sent == [traces_task(settings, rid)]  # committed before it was sent
    body = first.json
    assert body["traces_status"] == "pending" and second.json == body
    assert body["activations"]["top_features"][0]["contribution"] == 1.2
    assert body["activations"]["top_features"][0]["trace"] is None
    assert body["activations"]["fields"]["abstract"]["running_probability"] is None
    with sessions.begin() as session:  # what the worker's task stores
        session.get_one(Result, rid).activations = TRACED
    after = client.get(URL.format(rid), headers=auth)
    assert after.json["traces_status"] == "done"  # not the cached trace-less JSON
    assert after.json["activations"] == TRACED and after.headers["ETag"] != first.headers["ETag"]
    assert len(broker.sent) == 1


def test_the_page_of_a_bulk_result_shows_contributions_and_asks_once(
    login: AuthActions,
    make: Factory,
    sessions: sessionmaker[Session],
    settings: Settings,
    team_id: int,
    broker: FakeCelery,
) -> None:
    member = login.login()
    rid = bulk_result(make, sessions, team_id)
    pages = [member.get(f"/results/{rid}").get_data(as_text=True) for _ in range(2)]
    assert broker.sent == [traces_task(settings, rid)]
    for html in pages:
        assert "abstract.fwd.3: activation +0.8000 × weight +1.5000 = +1.2000" in html  # noqa: RUF001
        assert "The per-token traces are being computed; reload in a moment." in html
        assert "stores no per-token traces" not in html
    with sessions.begin() as session:
        session.get_one(Result, rid).activations = TRACED
    html = member.get(f"/results/{rid}").get_data(as_text=True)
    assert "being computed" not in html and "study: 0.4000" in html


def test_a_lost_request_is_made_again_and_a_failed_send_is_not_marked(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    sessions: sessionmaker[Session],
    settings: Settings,
    team_id: int,
    broker: FakeCelery,
) -> None:
    rid = bulk_result(make, sessions, team_id)
    broker.down = ConnectionError("broker down")
    assert client.get(URL.format(rid), headers=auth).status_code == 200  # the view still works
    with sessions() as session:
        assert session.get_one(Result, rid).traces_requested_at is None
    broker.down = None
    client.get(URL.format(rid), headers=auth)
    with sessions.begin() as session:  # sent long ago, its worker died: lost
        old = utcnow() - timedelta(seconds=settings.lost_after_s + 1)
        session.get_one(Result, rid).traces_requested_at = old
    client.get(URL.format(rid), headers=auth)
    assert broker.sent == [traces_task(settings, rid)] * 2


def submit(client: FlaskClient, auth: dict[str, str], **body: Any) -> Any:
    papers = [{"title": "Social media", "abstract": "We study it. It matters."}]
    return client.post("/api/v1/jobs", json={"papers": papers, **body}, headers=auth)


def test_a_bad_detail_is_400_naming_the_field(
    client: FlaskClient, auth: dict[str, str], broker: FakeCelery
) -> None:
    body = submit(client, auth, detail="everything")
    assert body.status_code == 400
    assert body.json["problems"] == [
        {"field": "detail", "error": "detail must be one of bulk, full, not 'everything'"}
    ]
    listed = submit(client, auth, detail=["full"])  # not text: 400 too, never a 500
    assert listed.status_code == 400 and listed.json["problems"][0]["field"] == "detail"
    data = {"file": (io.BytesIO(b"title,abstract\nSocial media,We study it.\n"), "p.csv")}
    upload = client.post(
        "/api/v1/jobs",
        headers=auth,
        data={**data, "detail": "all"},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 400 and upload.json["problems"][0]["field"] == "detail"
    assert broker.sent == []


def test_a_full_job_is_stored_full_and_asks_for_traces_its_bulk_results_lack(
    client: FlaskClient,
    auth: dict[str, str],
    sessions: sessionmaker[Session],
    settings: Settings,
    broker: FakeCelery,
) -> None:
    bulk = submit(client, auth)
    assert bulk.json and client.get(bulk.json["url"], headers=auth).json["detail"] == "bulk"
    [chunk] = broker.sent
    rid = chunk.args[1][0]
    with sessions.begin() as session:  # the worker stored it in bulk
        result = session.get_one(Result, rid)
        result.status, result.activations = "done", BULK
    full = submit(client, auth, detail="full")
    assert full.status_code == 202
    with sessions() as session:
        assert session.get_one(Job, full.json["id"]).detail == "full"
    assert [t.name for t in broker.sent] == [PROCESS_CHUNK, COMPUTE_TRACES]
    assert broker.sent[1].args == [rid] and broker.sent[1].queue == settings.detail_queue
