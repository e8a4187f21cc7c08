"""Placeholders and publisher lines through the API: left out by default, kept on request
(the job's keep_boilerplate, else OCCLAB_KEEP_BOILERPLATE), and part of a result's key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.cli import main
from shared.config import Settings
from shared.engine import load_model
from shared.models import Job, JobItem, Result
from tests.fixtures.web import FakeCelery
from web.extensions import CeleryClient
from worker.processing import process_chunk

TITLE = "Internet coverage and coverage bias in Europe"  # labelled
PLACEHOLDER = {"title": TITLE, "abstract": "[No abstract available]"}  # labelled, 308 times
NOTICE = {"title": TITLE, "abstract": "We compared countries. Copyright 2013 ACM."}


def _submit(client: FlaskClient, auth: dict[str, str], paper: dict[str, str], **options: Any):
    response = client.post("/api/v1/jobs", json={"papers": [paper], **options}, headers=auth)
    assert response.status_code == 202, response.json
    return response.json


def _result(sessions: sessionmaker[Session], job_id: int) -> Result:
    with sessions() as s:
        query = select(Result).join(JobItem, JobItem.result_id == Result.id)
        return s.scalars(query.where(JobItem.job_id == job_id)).one()


def test_a_placeholder_abstract_is_202_and_scored_empty(
    client: FlaskClient,
    auth: dict[str, str],
    sessions: sessionmaker[Session],
    broker: FakeCelery,
    default_model_dir: Any,
) -> None:
    job = _submit(client, auth, PLACEHOLDER)
    result = _result(sessions, job["id"])
    assert result.cells == 7 and not result.keep_boilerplate  # seven title words x one unit
    model = load_model(default_model_dir, device="cpu")
    process_chunk(sessions, [result.id], 3, 0.0, loader=lambda _row: model)
    body = client.get(f"/api/v1/results/{result.id}", headers=auth).json
    assert body["status"] == "done" and body["read_as_nothing"] == ["abstract"]
    assert body["abstract_units"] == [[]]
    title = [[w] for w in TITLE.lower().split()]
    assert body["title_units"] == title
    expected = model.predict_batch([{"title": TITLE.lower().split(), "abstract": []}])[0]
    assert abs(body["probability"] - float(expected)) < 1e-5


def test_the_job_option_keeps_them_as_a_result_of_its_own(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session], broker: FakeCelery
) -> None:
    left = _result(sessions, _submit(client, auth, NOTICE)["id"])
    kept_job = _submit(client, auth, NOTICE, keep_boilerplate=True)
    kept = _result(sessions, kept_job["id"])
    assert kept.id != left.id and kept.keep_boilerplate and not left.keep_boilerplate
    assert (left.cells, kept.cells) == (7, 14)
    assert client.get(kept_job["url"], headers=auth).json["keep_boilerplate"] is True


def test_the_setting_is_the_default_and_the_option_overrides_it(
    make_app: Callable[..., Flask],
    settings: Settings,
    auth: dict[str, str],
    sessions: sessionmaker[Session],
) -> None:
    app = make_app(SETTINGS=settings.with_overrides(keep_boilerplate=True))
    client = app.test_client()
    app.extensions[CeleryClient.key] = FakeCelery(sessions)
    kept = _result(sessions, _submit(client, auth, NOTICE)["id"])
    left = _result(sessions, _submit(client, auth, NOTICE, keep_boilerplate="false")["id"])
    assert kept.keep_boilerplate and kept.cells == 14
    assert not left.keep_boilerplate and left.cells == 7


def test_a_bad_option_names_itself(client: FlaskClient, auth: dict[str, str]) -> None:
    body = {"papers": [NOTICE], "keep_boilerplate": 3}
    response = client.post("/api/v1/jobs", json=body, headers=auth)
    assert response.status_code == 400
    assert response.json["problems"][0]["field"] == "keep_boilerplate"


def _occlab_submit(live_server: str, token: str, path: Path, *options: str) -> int:
    argv = ["submit", str(path), "--server", live_server, "--token", token, "--no-wait"]
    done = CliRunner().invoke(main, [*argv, *options], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return int(done.stdout.split()[1].rstrip(":"))  # "job 7: http://..."


def test_occlab_submit_keeps_them_on_request(
    live_server: str, token: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text(json.dumps(NOTICE) + "\n", encoding="utf-8")
    kept = _occlab_submit(live_server, token, path, "--keep-boilerplate", "--detail", "full")
    left = _occlab_submit(live_server, token, path, "--leave-out-boilerplate")
    default = _occlab_submit(live_server, token, path)
    with sessions() as s:
        jobs = {j: s.get_one(Job, j) for j in (kept, left, default)}
        assert jobs[kept].keep_boilerplate and jobs[kept].detail == "full"
        assert not jobs[left].keep_boilerplate and not jobs[default].keep_boilerplate
        assert jobs[default].detail == "bulk"
    assert (_result(sessions, kept).cells, _result(sessions, left).cells) == (14, 7)
