"""Results never stay claimed for ever: errors after the claim put them back, the task
retries, two copies of a chunk claim once, and the reaper finds what was left behind."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

import worker.processing
import worker.tasks
from shared.cli import main
from shared.config import Settings, load_settings
from shared.db import session_factory, session_scope, utcnow
from shared.engine import Model
from shared.jobs.dispatch import PROCESS_CHUNK
from shared.jobs.requeue import requeue_stale
from shared.jobs.status import cancel_job
from shared.models import GridCell, Job, JobItem, Result
from tests.worker.support import PAPERS, job_of, make_team, run, store_job, stored_results
from worker.app import create_celery_app
from worker.claims import Delivery, claim
from worker.processing import ChunkOutcome


def attempts_and_statuses(settings: Settings, job_id: int) -> list[tuple[str, int]]:
    return [(r["status"], r["attempts"]) for r in stored_results(settings.database_url, job_id)]


def test_a_database_error_after_the_claim_puts_the_results_back(
    settings: Settings, engine_model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    with session_scope(settings.database_url) as session:  # its last attempt comes next
        session.get_one(Result, todo[1]).attempts = settings.max_attempts - 1

    def locked(*_: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(worker.processing, "store_explanation", locked)
    with pytest.raises(OperationalError):
        run(settings, todo, lambda _: engine_model)
    assert attempts_and_statuses(settings, job_id) == [("pending", 1), ("failed", 3)]
    assert "gave up after 3 attempts" in stored_results(settings.database_url, job_id)[1]["error"]
    monkeypatch.undo()
    assert run(settings, todo, lambda _: engine_model).done == todo[:1]
    job = job_of(settings, job_id)
    assert (job.status, job.done, job.failed) == ("done", 1, 1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cells_saved_first_by_another_copy_are_skipped_not_an_error(
    settings: Settings, engine_model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has no row lock: another copy can commit between this one's read and write."""
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    real_store = worker.processing.store_explanation

    def other_copy_first(session: Any, result: Result, e: Any, ms: float) -> None:
        with session_scope(settings.database_url) as other:
            other.add(GridCell(result_id=result.id, title_len=1, abstract_len=1, probability=0.5))
            other.get_one(Result, result.id).status = "done"
        real_store(session, result, e, ms)

    monkeypatch.setattr(worker.processing, "store_explanation", other_copy_first)
    outcome = run(settings, todo, lambda _: engine_model)
    assert (outcome.skipped, outcome.done) == (todo, [])
    assert stored_results(settings.database_url, job_id)[0]["cells"] == {(1, 1): 0.5}


def test_the_task_retries_the_chunk_after_an_error(
    sqlite_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings({"DATABASE_URL": sqlite_url, "OCCLAB_INSTANCE": str(tmp_path)})
    task = create_celery_app(settings).tasks[PROCESS_CHUNK]
    calls: list[list[int]] = []

    def flaky(_sessions: Any, ids: list[int], *_: Any, **__: Any) -> ChunkOutcome:
        calls.append(ids)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return ChunkOutcome(done=list(ids))

    monkeypatch.setattr(worker.tasks.processing, "process_chunk", flaky)
    result = task.apply(args=[7, [1, 2]])  # eager: the retry runs at once, in this process
    assert result.get()["done"] == 2 and calls == [[1, 2], [1, 2]]


@pytest.mark.parametrize("hold_s", [0, 3600])
def test_two_copies_of_a_chunk_at_once_claim_it_once(settings: Settings, hold_s: int) -> None:
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    sessions = session_factory(settings.database_url)
    first = sessions()
    first.begin()
    delivery = Delivery("", lost_after_s=hold_s)
    assert claim(first, todo, settings.max_attempts, delivery)[0] == todo
    second: dict[str, Any] = {}
    started = threading.Event()

    def second_copy() -> None:
        with sessions.begin() as session:
            started.set()
            second["claimed"] = claim(session, todo, settings.max_attempts, delivery)[0]

    thread = threading.Thread(target=second_copy)
    thread.start()
    assert started.wait(10)
    thread.join(2)  # PostgreSQL skips the locked row at once; SQLite waits for the first
    first.commit()
    first.close()
    thread.join(30)
    [stored] = stored_results(settings.database_url, job_id)
    # A stale claim (hold 0) may be taken over, once the first is committed; the count of
    # attempts is never lost. A fresh one (hold 3600) is left to the worker that has it.
    assert stored["attempts"] == 1 + len(second["claimed"])
    assert second["claimed"] == ([] if hold_s or "postgresql" in settings.database_url else todo)


def age(settings: Settings, job_id: int, result_id: int, seconds: int, **result: Any) -> None:
    then = utcnow() - timedelta(seconds=seconds)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(created_at=then))
        if result:
            session.execute(update(Result).where(Result.id == result_id).values(**result))


def test_the_reaper_finds_old_pending_and_running_results_of_live_jobs(settings: Settings):
    team = make_team(settings.database_url)
    job_id, (pending, running, fresh) = store_job(settings, team, PAPERS)
    hour_ago = utcnow() - timedelta(hours=1)
    age(settings, job_id, pending, 7200)
    age(settings, job_id, running, 7200, status="running", started_at=hour_ago, attempts=1)
    age(settings, job_id, fresh, 7200, status="running", started_at=utcnow(), attempts=1)
    gone_id, gone = store_job(settings, team, [{"title": "Lost", "abstract": "It is. Gone."}])
    age(settings, gone_id, gone[0], 7200)
    with session_scope(settings.database_url) as session:
        assert cancel_job(session, session.get_one(Job, gone_id))
    with session_scope(settings.database_url) as session:
        found = requeue_stale(session, settings, True, 1800)
    assert found == {job_id: [pending, running]}
    statuses = [(r["status"], r["attempts"]) for r in stored_results(settings.database_url, job_id)]
    assert statuses == [("pending", 0), ("pending", 1), ("running", 1)]
    with session_scope(settings.database_url) as session:  # another reaper, just after
        assert requeue_stale(session, settings, True, 1800) == {}


def test_occlab_requeue_sends_the_orphans(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(service_env)
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    done = CliRunner().invoke(main, ["requeue", "--older-than", "0"])
    assert done.exit_code == 0, done.output
    assert "requeued 2 result(s) of 1 job(s)" in done.output
    broker = redis.Redis.from_url(settings.redis_url)
    queued = broker.lrange(settings.task_queue, 0, -1)
    broker.delete(settings.task_queue)
    [message] = [json.loads(m) for m in queued]
    assert message["headers"]["task"] == PROCESS_CHUNK
    assert json.loads(base64.b64decode(message["body"]))[0] == [job_id, todo]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # row locks
def test_a_submission_linking_a_result_does_not_hide_it_from_a_worker(
    settings: Settings,
) -> None:
    # A second job that reuses a result links it in job_items, in a transaction of its own;
    # PostgreSQL key-share-locks the result row for that until the submission commits.
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    sessions = session_factory(settings.database_url)
    with sessions() as linking:
        linking.add(JobItem(job_id=job_id, position=1, result_id=todo[0]))
        linking.flush()
        with sessions.begin() as session:
            claimed = claim(session, todo, settings.max_attempts, Delivery())[0]
        linking.rollback()
    assert claimed == todo
