"""A computed result's faithfulness through the API: what the worker stores is what
``occlab explain --format json`` gives, and a result from before it is null."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.engine import explain, load_model
from shared.engine.export import to_json
from shared.models import JobItem, Result
from tests.fixtures.web import FakeCelery
from worker.processing import process_chunk

PAPER = {
    "title": "Internet coverage and coverage bias in Europe",  # labelled
    "abstract": "We analyzed data from the Eurobarometer. We compared countries over time. "
    "Coverage bias shrinks as coverage grows.",
}


def _computed(client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session],
              model: Any) -> int:  # fmt: skip
    response = client.post("/api/v1/jobs", json={"papers": [PAPER]}, headers=auth)
    assert response.status_code == 202, response.json
    with sessions() as s:
        rid = s.scalars(
            select(Result.id)
            .join(JobItem, JobItem.result_id == Result.id)
            .where(JobItem.job_id == response.json["id"])
        ).one()
    process_chunk(sessions, [rid], 3, 0.0, loader=lambda _row: model)
    return rid


def test_the_stored_faithfulness_round_trips_through_the_api(
    client: FlaskClient,
    auth: dict[str, str],
    sessions: sessionmaker[Session],
    broker: FakeCelery,
    default_model_dir: Any,
) -> None:
    model = load_model(default_model_dir, device="cpu")
    rid = _computed(client, auth, sessions, model)
    body = client.get(f"/api/v1/results/{rid}", headers=auth).json
    assert body["status"] == "done"
    (e,) = explain(model, [PAPER], detail="bulk")
    expected = to_json(e)
    assert body["faithfulness"] == expected["faithfulness"]
    assert body["minimal_flip"] == expected["minimal_flip"]
    faith = body["faithfulness"]
    units = len(body["title_units"]) + len(body["abstract_units"])
    assert len(faith["deletion_curve"]) == units
    assert list(faith["comprehensiveness"]) == ["0.1", "0.2", "0.3", "0.4", "0.5"]


def test_a_result_stored_before_faithfulness_is_null(
    client: FlaskClient,
    auth: dict[str, str],
    sessions: sessionmaker[Session],
    broker: FakeCelery,
    default_model_dir: Any,
) -> None:
    model = load_model(default_model_dir, device="cpu")
    rid = _computed(client, auth, sessions, model)
    with sessions.begin() as s:
        s.execute(update(Result).where(Result.id == rid).values(faithfulness=None))
    body = client.get(f"/api/v1/results/{rid}", headers=auth).json
    assert body["status"] == "done"
    assert body["faithfulness"] is None and body["minimal_flip"] is None
