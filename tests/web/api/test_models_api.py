"""``/api/v1/models`` in the request: the list with the shipped default, an owner's upload
kept and sent to a worker after the commit (by id), refusals that name what to fix with
nothing kept, a broker that is down, the team default, and another team's 404."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.dispatch import IMPORT_MODEL
from shared.models import ModelStatus, RegisteredModel, StoredFile
from tests.fixtures.factories import ADA_TEAM, SHIPPED, SHIPPED_SPEC, Factory, Member
from tests.fixtures.web import FakeCelery, SentTask


def parts(**drop: None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "mine",
        "version": "1",
        "checkpoint": (io.BytesIO(b"state dict"), "model.pt"),
        "vectors": (io.BytesIO(b"2 1\na 0.5\nb 0.25\n"), "vectors.txt"),
        "spec": (io.BytesIO(b"{}"), "spec.json"),
    }
    return {k: v for k, v in data.items() if k not in drop}


def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(StoredFile)) or 0


def test_the_list_holds_the_shipped_default_with_its_manifest(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    [model] = client.get("/api/v1/models", headers=auth).json["models"]
    assert (model["model"], model["default"], model["shared"], model["status"]) == (
        SHIPPED_SPEC, True, True, "ready",
    )  # fmt: skip
    assert (
        model["fields"] == ["title", "abstract"]
        and model["vocabulary"] == SHIPPED["vectors"]["count"]
    )
    assert model["architecture"]["hidden_size"] == 128
    assert 0.9 < model["metrics"]["test"]["roc_auc"] <= 1
    assert client.get(model["url"], headers=auth).json == model


def test_an_owners_upload_is_kept_then_sent_by_id_after_the_commit(
    client: FlaskClient, auth: dict[str, str], broker: FakeCelery, settings: Settings,
    sessions: sessionmaker[Session], other_token: str,
) -> None:  # fmt: skip
    response = client.post("/api/v1/models", headers=auth, data=parts())
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.json
    assert (body["model"], body["status"], body["shared"]) == ("mine:1", "importing", False)
    assert response.headers["Location"] == body["url"]
    assert broker.sent == [SentTask(IMPORT_MODEL, [body["id"]], settings.detail_queue, 0)]
    with sessions() as session:
        row = session.get_one(RegisteredModel, body["id"])
        assert row.status == ModelStatus.IMPORTING and set(row.upload or {}) == {
            "checkpoint", "vectors", "spec",
        }  # fmt: skip
    assert stored(sessions) == 3
    bob = {"Authorization": f"Bearer {other_token}"}
    assert client.get(body["url"], headers=bob).status_code == 404
    # Not usable while importing: the submission says so.
    job = client.post(
        "/api/v1/jobs", headers=auth, json={"model": "mine:1", "papers": [{"title": "a"}]}
    )
    assert job.status_code == 400 and "still being imported" in job.json["error"]


def test_refusals_name_what_to_fix_and_keep_nothing(
    client: FlaskClient, auth: dict[str, str], broker: FakeCelery, sessions: sessionmaker[Session],
) -> None:  # fmt: skip
    for data, status, message in (
        (parts(spec=None), 400, "spec is missing: upload SPEC.json"),
        (parts(name=None), 400, "needs a name and a version"),
        ({**parts(), "name": "default"}, 400, "every team shares: choose another"),
    ):
        response = client.post("/api/v1/models", headers=auth, data=data)
        assert response.status_code == status and message in response.json["error"]
    assert broker.sent == [] and stored(sessions) == 0


def test_only_owners_import_and_choose_the_default(
    client: FlaskClient, make: Factory, ada: Member, broker: FakeCelery
) -> None:
    member = make.user("cy@example.org", ADA_TEAM)
    headers = {"Authorization": f"Bearer {make.token(member.user_id)}"}
    response = client.post("/api/v1/models", headers=headers, data=parts())
    assert response.status_code == 403 and "only an owner" in response.json["error"]
    chosen = client.put("/api/v1/models/default", headers=headers, json={"model": "default"})
    assert chosen.status_code == 403
    assert broker.sent == []


def test_a_broker_that_is_down_fails_the_upload_saying_so(
    client: FlaskClient, auth: dict[str, str], broker: FakeCelery, sessions: sessionmaker[Session]
) -> None:
    broker.down = ConnectionError("Redis is down")
    response = client.post("/api/v1/models", headers=auth, data=parts())
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "failed" and "upload the model again" in body["error"]
    assert stored(sessions) == 0
    broker.down = None  # the same name may be sent again
    assert client.post("/api/v1/models", headers=auth, data=parts()).status_code == 202


def test_the_team_default_is_chosen_by_name_or_id(
    client: FlaskClient, auth: dict[str, str], broker: FakeCelery
) -> None:
    [shipped] = client.get("/api/v1/models", headers=auth).json["models"]
    by_id = client.put("/api/v1/models/default", headers=auth, json={"id": shipped["id"]})
    assert by_id.status_code == 200 and by_id.json["default"] is True
    unknown = client.put("/api/v1/models/default", headers=auth, json={"model": "nope"})
    assert unknown.status_code == 400 and "no model named 'nope'" in unknown.json["error"]
    bad = client.put("/api/v1/models/default", headers=auth, json={"model": 3})
    assert bad.status_code == 400 and "name:version" in bad.json["error"]
    importing = client.post("/api/v1/models", headers=auth, data=parts()).json
    refused = client.put("/api/v1/models/default", headers=auth, json={"id": importing["id"]})
    assert refused.status_code == 400 and "cannot be the default" in refused.json["error"]
