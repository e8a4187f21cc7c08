"""Claims name their delivery: its own redelivery takes them back at once, another delivery
waits for the heartbeat to go stale, and a live worker's heartbeat keeps its claims."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from shared.config import Settings
from shared.db import session_factory, session_scope, utcnow
from shared.engine import Model
from shared.jobs.status import cancel_job
from shared.models import Job, Result
from tests.worker.support import PAPERS, make_team, store_job, stored_results
from worker.claims import Delivery, claim, release, still_waiting
from worker.processing import process_chunk

LIVE = Delivery("task-a", lost_after_s=30, heartbeat_s=5)
OTHER = Delivery("task-b", lost_after_s=30, heartbeat_s=5)


def claim_now(settings: Settings, ids: list[int], delivery: Delivery) -> list[int]:
    with session_factory(settings.database_url).begin() as session:
        return claim(session, ids, settings.max_attempts, delivery)[0]


def beat_at(settings: Settings, ids: list[int], seconds_ago: float) -> None:
    then = utcnow() - timedelta(seconds=seconds_ago)
    with session_scope(settings.database_url) as session:
        session.execute(update(Result).where(Result.id.in_(ids)).values(heartbeat_at=then))


def row(settings: Settings, result_id: int) -> Result:
    with session_scope(settings.database_url) as session:
        return session.get_one(Result, result_id)


def test_a_redelivery_takes_its_own_claims_back_and_no_other_delivery_can(
    settings: Settings,
) -> None:
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    assert claim_now(settings, todo, LIVE) == todo
    assert row(settings, todo[0]).claimed_by == "task-a"
    # The worker was killed: Celery hands the same message (same task id) straight back.
    assert claim_now(settings, todo, OTHER) == []
    assert claim_now(settings, todo, LIVE) == todo
    assert [r["attempts"] for r in stored_results(settings.database_url, job_id)] == [2, 2]


def test_another_delivery_takes_over_once_the_heartbeat_is_stale(settings: Settings) -> None:
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    claim_now(settings, todo, LIVE)
    beat_at(settings, todo[:1], seconds_ago=29)
    beat_at(settings, todo[1:], seconds_ago=31)
    assert claim_now(settings, todo, OTHER) == todo[1:]
    assert row(settings, todo[1]).claimed_by == "task-b"


def test_putting_back_leaves_results_another_delivery_took_over(settings: Settings) -> None:
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    claim_now(settings, todo, LIVE)
    beat_at(settings, todo[1:], seconds_ago=60)
    claim_now(settings, todo[1:], OTHER)
    sessions = session_factory(settings.database_url)
    release(sessions, todo, settings.max_attempts, LIVE, "its database went away")
    assert [row(settings, i).status for i in todo] == ["pending", "running"]
    assert row(settings, todo[1]).claimed_by == "task-b"


def test_the_heartbeat_keeps_a_slow_chunk_claimed(settings: Settings, engine_model: Model) -> None:
    """While the model computes, the claimed results are stamped every heartbeat_s."""
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    delivery = Delivery("task-slow", lost_after_s=0.5, heartbeat_s=0.1)
    seen: list[Any] = []

    def slow_loader(_: Any) -> Model:
        claimed_at = row(settings, todo[0]).heartbeat_at
        time.sleep(0.6)  # longer than lost_after_s: without beats, a thief could take it
        latest = row(settings, todo[0]).heartbeat_at
        seen.append((claimed_at, latest))
        seen.append(claim_now(settings, todo, OTHER))
        return engine_model

    sessions = session_factory(settings.database_url)
    outcome = process_chunk(sessions, todo, settings.max_attempts, 2.0, slow_loader, delivery)
    (claimed_at, latest), stolen = seen
    assert latest > claimed_at + timedelta(seconds=0.3)
    assert stolen == [] and outcome.done == todo


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # row locks
def test_a_result_skipped_while_locked_is_still_waiting_unless_its_job_is_cancelled(
    settings: Settings,
) -> None:
    team = make_team(settings.database_url)
    job_id, todo = store_job(settings, team, PAPERS[:2])
    sessions = session_factory(settings.database_url)
    holder = sessions()
    holder.execute(select(Result).where(Result.id == todo[0]).with_for_update())
    try:
        with sessions.begin() as session:
            claimed, skipped, _ = claim(session, todo, settings.max_attempts, LIVE)
    finally:
        holder.rollback()
        holder.close()
    assert (claimed, skipped) == (todo[1:], todo[:1])
    assert still_waiting(sessions, skipped) == todo[:1]
    with session_scope(settings.database_url) as session:
        cancel_job(session, session.get_one(Job, job_id))
    assert still_waiting(sessions, skipped) == []


def test_a_chunk_redelivered_while_the_first_copy_runs_leaves_it_alone(
    settings: Settings, engine_model: Model
) -> None:
    """A resubmission's chunk (a new task id) arrives while a live worker computes."""
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    claim_now(settings, todo, LIVE)
    result: dict[str, Any] = {}

    def second() -> None:
        sessions = session_factory(settings.database_url)
        result["outcome"] = process_chunk(
            sessions, todo, settings.max_attempts, 2.0, lambda _: engine_model, OTHER
        )

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(30)
    assert result["outcome"].skipped == todo and result["outcome"].done == []
    assert row(settings, todo[0]).status == "running"
