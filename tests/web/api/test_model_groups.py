"""One submission under several models: one job per model in one transaction, linked by
``jobs.group_id``, each job's JSON listing the group; bad ``models`` values are refused
with nothing stored."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.dispatch import PROCESS_CHUNK
from shared.jobs.ingest import ingest
from shared.models import Job, JobItem, Result, StoredFile
from tests.fixtures.factories import SHIPPED, SHIPPED_SPEC
from tests.fixtures.web import FakeCelery
from tests.shared.jobs.test_ingest import labelled_csv

PAPERS = [
    {"title": "Social media and society", "abstract": "We study it. It matters.", "label": 0},
    {"title": "Deep learning for text", "abstract": "We train a network. It works.", "label": 1},
]


def submit(client: FlaskClient, auth: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/jobs", json={"papers": PAPERS, **body}, headers=auth)


def test_two_models_make_two_jobs_of_one_group(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session],
    broker: FakeCelery, second_model: str,
) -> None:  # fmt: skip
    response = submit(client, auth, models=["default", second_model])
    assert response.status_code == 202, response.json
    body = response.json
    first = body["id"]
    group = body["group"]
    assert [g["model"] for g in group] == [
        {"name": "default", "version": SHIPPED["version"]},
        {"name": "second", "version": "2"},
    ]
    assert group[0]["id"] == first and group[1]["id"] != first
    assert group[1]["html_url"] == f"/jobs/{group[1]['id']}"
    with sessions() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        assert [(j.id, j.group_id, j.total) for j in jobs] == [
            (first, first, 2),
            (group[1]["id"], first, 2),
        ]
        # The same papers (stored once), one result per paper and model, labels kept.
        rows = session.execute(
            select(JobItem.job_id, JobItem.position, JobItem.label, Result.paper_id,
                   Result.model_id)
            .join(Result, Result.id == JobItem.result_id)
            .order_by(JobItem.job_id, JobItem.position)
        ).all()  # fmt: skip
        assert [r.paper_id for r in rows[:2]] == [r.paper_id for r in rows[2:]]
        assert [r.label for r in rows] == [0, 1, 0, 1]
        assert len({r.model_id for r in rows}) == 2
    # Each job's chunks went out after the one commit.
    chunks = [t for t in broker.sent if t.name == PROCESS_CHUNK]
    assert sorted(t.args[0] for t in chunks) == [first, group[1]["id"]]
    assert all(t.committed == 2 for t in chunks)
    other = client.get(group[1]["url"], headers=auth).get_json()
    assert other["group"] == group and other["model"]["name"] == "second"


def test_a_job_of_one_model_has_no_group(
    client: FlaskClient, auth: dict[str, str], broker: FakeCelery, second_model: str
) -> None:
    body = submit(client, auth, models=[second_model]).json
    assert "group" not in body
    assert "group" not in client.get(body["url"], headers=auth).get_json()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "default", "models": ["default", "x"]}, 'give "model" (one model) or'),
        ({"models": "default"}, "models must be a list of model names"),
        ({"models": []}, "models must be a list of model names"),
        ({"models": ["default", 3]}, "each of models must be a model's name"),
        ({"models": ["default", ""]}, "each of models must be a model's name"),
        ({"models": ["default", "default"]}, "models names 'default' twice"),
        ({"models": ["a", "b", "c", "d", "e"]}, "models names 5 models; the limit is 4"),
        ({"models": ["default", "nosuch"]}, "no model named 'nosuch'"),
        ({"models": ["default", SHIPPED_SPEC]}, f"{SHIPPED_SPEC} is named twice"),
    ],
)
def test_bad_models_are_refused_with_nothing_stored(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session],
    broker: FakeCelery, body: dict[str, Any], says: str, second_model: str,
) -> None:  # fmt: skip
    response = submit(client, auth, **body)
    assert response.status_code == 400
    assert says in response.json["error"]
    assert response.json["problems"][0]["field"] in ("models", "model")
    assert broker.sent == []
    with sessions() as session:  # the models are registered; nothing else is stored
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(Result)) == 0


def test_occlab_submit_names_two_models(
    live_server: str, token: str, tmp_path: Path, sessions: sessionmaker[Session],
    second_model: str,
) -> None:  # fmt: skip
    """``--model A --model B``: repeated form fields, one job per model, both printed with
    the comparison's address."""
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in PAPERS), encoding="utf-8")
    argv = ["submit", str(path), "--server", live_server, "--token", token, "--no-wait",
            "--model", "default", "--model", second_model]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with sessions() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        assert len(jobs) == 2 and {j.group_id for j in jobs} == {jobs[0].id}
        first, second = (j.id for j in jobs)
    assert f"job {first} ({SHIPPED_SPEC}): " in done.stdout
    assert f"job {second} (second:2): " in done.stdout
    assert f"{live_server}/jobs/{first}/compare/{second}" in done.stdout


def test_a_large_upload_under_two_models_reads_one_file_into_both(
    make_app: Callable[..., Flask], auth: dict[str, str], settings: Settings,
    sessions: sessionmaker[Session], data_path: Path, second_model: str,
) -> None:  # fmt: skip
    data, _ = labelled_csv(data_path, 20)
    small = settings.with_overrides(inline_bytes=len(data) // 2)
    client = make_app(SETTINGS=small).test_client()
    form = {"file": (io.BytesIO(data), "papers.csv"), "model": ["default", second_model]}
    response = client.post("/api/v1/jobs", headers=auth, data=form)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    first, second = (g["id"] for g in body["group"])
    with sessions() as session:
        jobs = [session.get_one(Job, i) for i in (first, second)]
        assert [j.status for j in jobs] == ["ingesting", "ingesting"]
        assert jobs[0].file_id is not None and jobs[0].file_id == jobs[1].file_id
    ingest(sessions, small, first, lambda job, ids: None)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 1
    ingest(sessions, small, second, lambda job, ids: None)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
        assert [session.get_one(Job, i).total for i in (first, second)] == [20, 20]


def test_a_refusal_under_one_of_several_models_names_it(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session],
    broker: FakeCelery, second_model: str,
) -> None:  # fmt: skip
    bad = {"papers": [*PAPERS, {"title": "Empty", "abstract": " "}], "on_error": "reject"}
    response = client.post("/api/v1/jobs", json={**bad, "models": ["default", second_model]},
                           headers=auth)  # fmt: skip
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("under model default: the submission has")
    assert response.get_json()["problems"][0]["index"] == 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
