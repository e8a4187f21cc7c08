"""Submitting papers: 202 with rows stored and chunks sent to Redis only after the commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.dispatch import PROCESS_CHUNK
from shared.jobs.status import refresh_jobs
from shared.models import Job, JobItem, Paper, Result, ResultStatus
from tests.fixtures.factories import SHIPPED
from tests.fixtures.web import FakeCelery, SentTask

PAPERS = [
    {"title": "Social media", "abstract": "We study it. It matters.", "id": 7},
    {"title": "Deep learning", "abstract": "We study the trees."},
]


def submit(client: FlaskClient, auth: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/jobs", json={"papers": PAPERS, **body}, headers=auth)


def test_submit_stores_rows_and_sends_chunks_after_commit(
    client: FlaskClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    broker: FakeCelery,
) -> None:
    response = submit(client, auth)
    assert response.status_code == 202, response.json
    job_id = response.json["id"]
    assert response.headers["Location"] == response.json["url"] == f"/api/v1/jobs/{job_id}"
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.total, job.source) == ("queued", 2, "api")
        papers = session.scalars(select(Paper).order_by(Paper.id)).all()
        assert [(p.title, p.external_id) for p in papers] == [
            ("Social media", "7"),
            ("Deep learning", None),
        ]
        ids = [
            i.result_id for i in session.scalars(select(JobItem).where(JobItem.job_id == job_id))
        ]
    # Two results, one chunk of 16, sent once both were committed (another connection saw them).
    chunk = SentTask(PROCESS_CHUNK, [job_id, ids], settings.task_queue, committed=2)
    assert broker.sent == [chunk]


def test_chunks_follow_the_chunk_size(
    make_app: Callable[..., Any],
    auth: dict[str, str],
    settings: Settings,
    redis_client: redis.Redis,
) -> None:
    client = make_app(SETTINGS=settings.with_overrides(chunk_size=1)).test_client()
    assert submit(client, auth).status_code == 202
    assert redis_client.llen(settings.task_queue) == 2


def test_resubmitting_reuses_results_and_sends_nothing(
    client: FlaskClient, auth: dict[str, str], settings: Settings, redis_client: redis.Redis
) -> None:
    first, second = submit(client, auth), submit(client, auth)
    assert first.status_code == second.status_code == 202
    assert redis_client.llen(settings.task_queue) == 1
    a = client.get(first.json["url"], headers=auth).json["results"]
    b = client.get(second.json["url"], headers=auth).json["results"]
    assert [r["id"] for r in a] == [r["id"] for r in b]


def test_job_json_shape_and_submission_order(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    papers = [{"title": f"Social media {w}", "abstract": "We study it."} for w in "cba"]
    job_id = client.post("/api/v1/jobs", json={"papers": papers}, headers=auth).json["id"]
    body = client.get(f"/api/v1/jobs/{job_id}", headers=auth).json
    assert set(body) >= {"id", "status", "total", "done", "failed", "created_at", "started_at",
                         "finished_at", "model", "results"}  # fmt: skip
    assert body["model"] == {"name": "default", "version": SHIPPED["version"]}
    assert (body["status"], body["total"], body["done"], body["failed"]) == ("queued", 3, 0, 0)
    assert body["created_at"].endswith("Z") and body["finished_at"] is None
    with sessions() as session:
        items = session.scalars(
            select(JobItem).where(JobItem.job_id == job_id).order_by(JobItem.position)
        ).all()
        by_position = {i.position: i.result.paper.title for i in items}
    results = body["results"]
    assert [by_position[r["position"]] for r in results] == [p["title"] for p in papers]
    assert results[0] == {
        "position": 0,
        "id": results[0]["id"],
        "url": f"/api/v1/results/{results[0]['id']}",
        "status": "pending",
        "probability": None,
        "error": None,
        "label": None,
    }


def test_list_is_paginated_newest_first(client: FlaskClient, auth: dict[str, str]) -> None:
    ids = [
        client.post("/api/v1/jobs", json={"papers": [p]}, headers=auth).json["id"]
        for p in [*PAPERS, {"title": "Trees", "abstract": "It matters."}]
    ]
    page1 = client.get("/api/v1/jobs?per_page=2", headers=auth).json
    page2 = client.get("/api/v1/jobs?per_page=2&page=2", headers=auth).json
    assert [j["id"] for j in page1["jobs"] + page2["jobs"]] == ids[::-1]
    assert (page1["total"], page1["pages"], page2["page"]) == (3, 2, 2)
    bad = client.get("/api/v1/jobs?page=0", headers=auth)
    assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "page"


def test_cancel_then_cancel_again_is_409(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    url = submit(client, auth).json["url"]
    response = client.post(f"{url}/cancel", headers=auth)
    assert response.status_code == 200
    assert response.json["status"] == "cancelled" and response.json["finished_at"]
    again = client.post(f"{url}/cancel", headers=auth)
    assert again.status_code == 409 and "already cancelled" in again.json["error"]


def test_broker_down_keeps_the_job_unsent_and_answers_503_with_it(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session], broker: FakeCelery
) -> None:
    broker.down = ConnectionError("Redis is down")
    response = submit(client, auth)
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    job_id = response.json["job"]["id"]
    assert response.json["job"]["url"] == response.headers["Location"] == f"/api/v1/jobs/{job_id}"
    assert "unreachable" in response.json["error"]
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.sent_at, job.error) == ("queued", None, None)
        results = session.scalars(select(Result)).all()
        assert {r.status for r in results} == {"pending"}  # still wanted, not failed
        for r in results:  # computed once the queue is back (by a resubmission's chunk)
            r.status = ResultStatus.DONE
        refresh_jobs(session, [job_id])
        assert (job.status, job.done, job.failed) == ("done", job.total, 0)


def test_a_sent_job_is_marked_sent(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session], broker: FakeCelery
) -> None:
    job_id = submit(client, auth).json["id"]
    with sessions() as session:
        assert session.get_one(Job, job_id).sent_at is not None
    assert len(broker.sent) == 1
