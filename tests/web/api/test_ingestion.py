"""Large submissions through the API: stored at once (202, ``ingesting``, nothing read in the
request), read in by a real worker in batches with the bad rows at ``problems_url``, then
computed to the end. Small ones are still checked in the request."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.ingest import ingest
from shared.models import Job, JobItem, JobProblem, Paper, Result, StoredFile
from tests.fixtures.objects import ObjectServer
from tests.shared.jobs.test_ingest import labelled_csv
from tests.web.api.test_skipped_rows import problems_of
from tests.worker.support import start_worker, stop_worker, wait_finished, worker_env

pytestmark = pytest.mark.slow


def big_csv(data_path: Path, rows: int, distinct: int) -> tuple[bytes, list[int]]:
    """``rows`` rows cycling through ``distinct`` real papers (so the workers compute only
    ``distinct`` grids: the team's copies share one result), every 97th abstract empty."""
    head, _ = labelled_csv(data_path, distinct)
    papers = list(csv.reader(io.StringIO(head.decode())))[1:]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "abstract", "eid"])
    bad = []
    for n in range(rows):
        title, abstract, eid = papers[n % distinct]
        if n % 97 == 96:
            abstract, _ = " ", bad.append(n + 2)
        writer.writerow([title, abstract, f"{eid}-{n}"])
    return out.getvalue().encode(), bad


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_20000_row_csv_is_stored_at_once_then_ingested_and_computed(
    client: FlaskClient, auth: dict[str, str], settings: Settings, service_env: dict[str, str],
    sessions: sessionmaker[Session], data_path: Path, tmp_path: Path,
) -> None:  # fmt: skip
    data, bad = big_csv(data_path, 20_000, distinct=40)
    assert len(data) > settings.inline_bytes
    files = {"file": (io.BytesIO(data), "corpus.csv")}
    response = client.post("/api/v1/jobs", headers=auth, data=files)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.json
    assert body is not None
    # Nothing was read in the request: the file is stored, the job waits for a worker.
    assert (body["status"], body["total"]) == ("ingesting", 0)
    with sessions() as session:
        stored = session.scalars(select(StoredFile)).one()
        assert stored.size == len(data)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(service_env), log)
    try:
        # A bound, not a speed check: on 2 shared cores under load reading alone took 58 s.
        job = wait_finished(settings.database_url, body["id"], 600, log)
    finally:
        stop_worker(worker)
    assert (job.status, job.total, job.rejected) == ("done", 20_000 - len(bad), len(bad))
    rows = problems_of(client, body["problems_url"], headers=auth)
    assert [int(r["line"]) for r in rows] == bad
    assert {r["field"] for r in rows} == {"abstract"}
    with sessions() as session:
        items = session.scalar(select(func.count()).where(JobItem.job_id == body["id"]))
        assert items == 20_000 - len(bad)
        assert session.scalar(select(func.count()).select_from(Result)) == 40
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
    export = client.get(client.get(body["url"], headers=auth).json["exports"]["csv"], headers=auth)
    assert export.status_code == 200
    assert len(export.get_data(as_text=True).splitlines()) == 1 + 20_000 - len(bad)


def test_a_large_json_body_takes_the_same_path(
    make_app: Callable[..., Flask], auth: dict[str, str], settings: Settings,
    sessions: sessionmaker[Session], data_path: Path,
) -> None:  # fmt: skip
    data, _ = labelled_csv(data_path, 50)
    papers: list[object] = [{"title": r["title"], "abstract": r["abstract"], "id": r["eid"]}
                            for r in csv.DictReader(io.StringIO(data.decode()))]  # fmt: skip
    papers[3] = "not a paper"
    body = json.dumps({"papers": papers, "title_unit": "word"})
    small = settings.with_overrides(inline_bytes=len(body) // 2)
    client = make_app(SETTINGS=small).test_client()
    response = client.post("/api/v1/jobs", headers=auth, data=body, content_type="application/json")
    assert response.status_code == 202, response.get_data(as_text=True)
    job_id = response.json["id"]  # type: ignore[index]
    assert (response.json["status"], response.json["total"]) == ("ingesting", 0)  # type: ignore[index]
    ingest(sessions, small, job_id, lambda job, ids: None)
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.total, job.rejected, job.title_unit) == ("queued", 49, 1, "word")
        problem = session.scalars(select(JobProblem).where(JobProblem.job_id == job_id)).one()
        assert (problem.line, problem.message) == (4, "each line must be a JSON object")
        item = JobItem.result_id == Result.id
        first = session.scalar(select(Paper.external_id).join(Result).join(JobItem, item)
                               .where(JobItem.job_id == job_id, JobItem.position == 0))  # fmt: skip
        assert first == papers[0]["id"]  # type: ignore[index]


def test_a_large_upload_of_an_unknown_type_is_refused_before_it_is_stored(
    make_app: Callable[..., Flask], auth: dict[str, str], settings: Settings,
    sessions: sessionmaker[Session],
) -> None:  # fmt: skip
    client = make_app(SETTINGS=settings.with_overrides(inline_bytes=10)).test_client()
    files = {"file": (io.BytesIO(b"x" * 100), "papers.xlsx")}
    response = client.post("/api/v1/jobs", headers=auth, data=files)
    assert response.status_code == 400
    assert "unknown file type; give a .csv, .jsonl or .bib file" in response.json["error"]  # type: ignore[index]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_a_large_upload_goes_to_the_object_store_when_one_is_set(
    make_app: Callable[..., Flask], auth: dict[str, str], object_settings: Settings,
    object_server: ObjectServer, sessions: sessionmaker[Session], data_path: Path,
) -> None:  # fmt: skip
    data, _ = labelled_csv(data_path, 40)
    small = object_settings.with_overrides(inline_bytes=1000)
    client = make_app(SETTINGS=small).test_client()
    files = {"file": (io.BytesIO(data), "corpus.csv")}
    response = client.post("/api/v1/jobs", headers=auth, data=files)
    assert response.status_code == 202, response.get_data(as_text=True)
    bucket = small.object_store.removeprefix("s3://").split("/")[0]
    assert len(object_server.keys(bucket)) == 1
    ingest(sessions, small, response.json["id"], lambda job, ids: None)  # type: ignore[index]
    with sessions() as session:
        job = session.get_one(Job, response.json["id"])  # type: ignore[index]
        assert (job.status, job.total) == ("queued", 40)
    assert object_server.keys(bucket) == []
