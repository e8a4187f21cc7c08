"""Finding results that no task will ever compute, and sending them (again).

SQL says what is left to do; the broker says what is still on its way. A result of a live
job is sent by the reaper when, and only when, nothing else will compute it:

- **unsent**: its job has ``sent_at`` NULL (the broker was down at submit, or the web died
  before publishing) and was created more than a grace period ago (the web may still be
  publishing it). Sent at once; the job is marked sent in the same UPDATE that picks it.
  An unsent ``ingesting`` job gets its one ingest task the same way (the task sends the
  results batch by batch as it reads them).
- **lost**: it is running and ``coalesce(heartbeat_at, started_at)`` is older than
  ``lost_after_s``: its worker stopped beating (killed, or its process hung). It is put
  back to pending and sent again.
- **dropped**: it is pending, its job was sent more than ``lost_after_s`` ago, it has not
  been claimed (or sent again) for ``lost_after_s``, and every job queue is empty. A
  pending result behind a backlog is just waiting: its message is still in a queue, and
  sending it again would duplicate the queue (20,000 papers twice). Only once the queues
  are empty can its message no longer be there (a worker died holding it, or a task gave
  up without putting it back), and it is sent again.

``requeue_orphans`` runs from ``occlab requeue`` and, every ``reap_interval_s``, from every
worker's main process (``worker/reaper.py``). Several reapers at once are harmless: the
UPDATE that picks a result stamps it (and one that picks a job marks it sent), so the next
reaper finds it fresh, and a chunk skips results that are already done or being computed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from celery import Celery
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import session_scope, utcnow
from shared.jobs.dispatch import (
    INGEST_JOB,
    cells_of,
    enqueue_chunks,
    job_queues,
    publish_options,
    queued_messages,
)
from shared.models import LIVE, Job, JobItem, JobStatus, Result, ResultStatus


def unsent_grace_s(settings: Settings) -> float:
    """How long a job may stay unsent before the reaper sends it: longer than a publish
    that is still trying, so the reaper does not race the web's own send."""
    return 2 * settings.publish_timeout_s + 1


def requeue_stale(
    session: Session,
    settings: Settings,
    queues_empty: bool,
    older_than_s: float | None = None,
    unsent_after_s: float | None = None,
) -> dict[int, list[int]]:
    """The unsent, lost and (when ``queues_empty``) dropped results, by the job to send them
    under; not committed. ``older_than_s`` replaces ``lost_after_s`` and ``unsent_after_s``
    the unsent grace (``occlab requeue`` passes 0: an operator sends them now)."""
    now = utcnow()
    lost_cutoff = now - timedelta(seconds=_or(older_than_s, settings.lost_after_s))
    unsent_cutoff = now - timedelta(seconds=_or(unsent_after_s, unsent_grace_s(settings)))
    fresh = _take_unsent(session, unsent_cutoff, now)
    stale = _lost(lost_cutoff)
    if queues_empty:
        stale = or_(stale, _dropped(lost_cutoff))
    picked = session.scalars(
        update(Result)
        .where(stale)
        .values(status=ResultStatus.PENDING, started_at=now, claimed_by=None, heartbeat_at=None)
        .returning(Result.id),
        execution_options={"synchronize_session": False},
    ).all()
    return _by_job(session, sorted({*fresh, *picked}))


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _live_holder() -> Select[int]:
    """The live jobs holding the enclosing query's result (only ``Result`` is correlated:
    an enclosing query over job_items must not be mistaken for this one's)."""
    held = select(JobItem.job_id).join(Job, Job.id == JobItem.job_id)
    return held.where(JobItem.result_id == Result.id, Job.status.in_(LIVE)).correlate(Result)


def _lost(cutoff: datetime) -> ColumnElement[bool]:
    beat = func.coalesce(Result.heartbeat_at, Result.started_at)
    return and_(Result.status == ResultStatus.RUNNING, beat < cutoff, _live_holder().exists())


def _dropped(cutoff: datetime) -> ColumnElement[bool]:
    sent_long_ago = _live_holder().where(Job.sent_at < cutoff).exists()
    not_since = or_(Result.started_at.is_(None), Result.started_at < cutoff)
    return and_(Result.status == ResultStatus.PENDING, not_since, sent_long_ago)


def _take_unsent(session: Session, cutoff: datetime, now: datetime) -> list[int]:
    """Mark the unsent live jobs created before ``cutoff`` as sent; their pending results
    that no other sent live job holds (those are the other job's to send)."""
    jobs = session.scalars(
        update(Job)
        .where(Job.status.in_(LIVE - {JobStatus.INGESTING}))
        .where(Job.sent_at.is_(None), Job.created_at < cutoff)
        .values(sent_at=now)
        .returning(Job.id),
        execution_options={"synchronize_session": False},
    ).all()
    if not jobs:
        return []
    held_elsewhere = _live_holder().where(Job.sent_at.is_not(None), Job.id.not_in(jobs))
    return list(
        session.scalars(
            select(Result.id)
            .join(JobItem, JobItem.result_id == Result.id)
            .where(JobItem.job_id.in_(jobs), Result.status == ResultStatus.PENDING)
            .where(~held_elsewhere.exists())
            .distinct()
        )
    )


def take_unsent_ingests(session: Session, settings: Settings, after_s: float | None) -> list[int]:
    """Mark the unsent ``ingesting`` jobs past the grace period as sent; their ids."""
    cutoff = utcnow() - timedelta(seconds=_or(after_s, unsent_grace_s(settings)))
    return list(
        session.scalars(
            update(Job)
            .where(Job.status == JobStatus.INGESTING, Job.sent_at.is_(None))
            .where(Job.created_at < cutoff)
            .values(sent_at=utcnow())
            .returning(Job.id),
            execution_options={"synchronize_session": False},
        )
    )


def _by_job(session: Session, result_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each result under the oldest live job that holds it (its chunk needs a live job)."""
    out: dict[int, list[int]] = defaultdict(list)
    if not result_ids:
        return out
    rows = session.execute(
        select(func.min(JobItem.job_id), JobItem.result_id)
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.result_id.in_(result_ids), Job.status.in_(LIVE))
        .group_by(JobItem.result_id)
        .order_by(JobItem.result_id)
    ).all()
    for job_id, result_id in rows:
        out[job_id].append(result_id)
    return dict(out)


def requeue_orphans(
    settings: Settings,
    app: Celery,
    older_than_s: float | None = None,
    unsent_after_s: float | None = None,
) -> dict[int, list[int]]:
    """Ask the broker whether the queues are empty, pick the results (committed), then send
    their chunks; returns what was sent. The broker down raises before anything is picked."""
    empty = queued_messages(app, job_queues(settings)) == 0
    with session_scope(settings.database_url) as session:
        by_job = requeue_stale(session, settings, empty, older_than_s, unsent_after_s)
        cells = cells_of(session, [i for ids in by_job.values() for i in ids])
        ingests = take_unsent_ingests(session, settings, unsent_after_s)
    for job_id in ingests:
        app.send_task(INGEST_JOB, args=[job_id], queue=settings.detail_queue, **publish_options())
    for job_id, ids in by_job.items():
        enqueue_chunks(app, settings, job_id, ids, cells)
    return by_job
