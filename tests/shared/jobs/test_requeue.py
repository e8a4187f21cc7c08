"""The reaper's rule against a real broker: a backlog is left alone, an empty queue's pending
results are sent again, a running result whose heartbeat stopped is sent in one reap, and a
job never sent is sent by one reap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import update

from shared.config import Settings
from shared.db import session_scope, utcnow
from shared.jobs.dispatch import enqueue_chunks, make_celery
from shared.jobs.requeue import requeue_orphans, unsent_grace_s
from shared.models import Job, Result
from tests.worker.support import PAPERS, job_of, make_team, store_job, stored_results

HOURS_AGO = timedelta(hours=2)  # longer than the visibility timeout: a long backlog


@pytest.fixture
def app(service_settings: Settings, redis_client: redis.Redis) -> Iterator[Celery]:
    app = make_celery(service_settings)
    yield app
    app.close()
    redis_client.delete(service_settings.task_queue, service_settings.gpu_queue)


def job_sent(settings: Settings, ago: timedelta, n: int = 2) -> tuple[int, list[int]]:
    """A job created and sent ``ago``; its results pending (nothing in the queue)."""
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:n])
    then = utcnow() - ago
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(created_at=then, sent_at=then))
    return job_id, todo


def set_result(settings: Settings, result_id: int, **values: Any) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(update(Result).where(Result.id == result_id).values(**values))


def test_a_backlog_still_in_the_queue_is_not_sent_again(
    service_settings: Settings, app: Celery, redis_client: redis.Redis
) -> None:
    job_id, todo = job_sent(service_settings, HOURS_AGO)
    enqueue_chunks(app, service_settings, job_id, todo)  # still waiting behind others
    assert requeue_orphans(service_settings, app) == {}
    assert redis_client.llen(service_settings.task_queue) == 1


def test_pending_results_are_sent_again_once_the_queues_are_empty(
    service_settings: Settings, app: Celery, redis_client: redis.Redis
) -> None:
    job_id, todo = job_sent(service_settings, HOURS_AGO)  # its message was lost
    assert requeue_orphans(service_settings, app) == {job_id: todo}
    assert redis_client.llen(service_settings.task_queue) == 1
    assert requeue_orphans(service_settings, app) == {}  # stamped: not twice in a row


def test_a_running_result_whose_heartbeat_stopped_is_sent_in_one_reap(
    service_settings: Settings, app: Celery, redis_client: redis.Redis
) -> None:
    s = service_settings
    job_id, (stale, beating) = job_sent(s, HOURS_AGO)
    lost_ago = utcnow() - timedelta(seconds=2 * s.lost_after_s)
    claim = {"status": "running", "attempts": 1, "started_at": lost_ago, "claimed_by": "t1"}
    set_result(s, stale, **claim, heartbeat_at=lost_ago)
    set_result(s, beating, **claim, heartbeat_at=utcnow())  # a long paper, still computing
    enqueue_chunks(app, s, job_id, [999])  # a backlog does not hold a claimed result back
    assert requeue_orphans(s, app) == {job_id: [stale]}
    [first, second] = stored_results(s.database_url, job_id)
    assert (first["status"], second["status"]) == ("pending", "running")
    with session_scope(s.database_url) as session:
        assert session.get_one(Result, stale).claimed_by is None  # the dead claim is void


def test_a_job_never_sent_is_sent_by_one_reap_and_a_fresh_one_is_left_to_the_web(
    service_settings: Settings, app: Celery, redis_client: redis.Redis
) -> None:
    s = service_settings
    team = make_team(s.database_url)
    unsent, todo = store_job(s, team, PAPERS[:2])
    publishing, _ = store_job(s, team, PAPERS[2:])  # the web may be sending it right now
    then = utcnow() - timedelta(seconds=unsent_grace_s(s) + 1)
    with session_scope(s.database_url) as session:
        session.execute(update(Job).where(Job.id == unsent).values(created_at=then))
    enqueue_chunks(app, s, publishing, [999])  # queues not empty: it is sent all the same
    assert requeue_orphans(s, app) == {unsent: todo}
    assert redis_client.llen(s.task_queue) == 2
    assert job_of(s, unsent).sent_at is not None and job_of(s, publishing).sent_at is None
    assert requeue_orphans(s, app) == {}


def test_an_ingesting_job_never_sent_gets_its_ingest_task_once(
    service_settings: Settings, app: Celery, redis_client: redis.Redis
) -> None:
    """The broker was down when a large file was stored: the reaper sends its one ingest
    task (on the detail queue), and its not-yet-read papers are nobody's to send."""
    s = service_settings
    job_id, _ = job_sent(s, HOURS_AGO)
    with session_scope(s.database_url) as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(status="ingesting", sent_at=None)
        )
    try:
        assert requeue_orphans(s, app) == {}
        [message] = [json.loads(m) for m in redis_client.lrange(s.detail_queue, 0, -1)]
        assert (message["headers"]["task"], message["headers"]["argsrepr"]) == (
            "occlab.ingest_job",
            f"[{job_id}]",
        )
        assert job_of(s, job_id).sent_at is not None
        requeue_orphans(s, app)
        assert redis_client.llen(s.detail_queue) == 1  # marked sent: not again
    finally:
        redis_client.delete(s.detail_queue)
