"""Finding results that no task will ever compute, and sending them again.

A result can be orphaned three ways: the web crashed between its commit and the enqueue, a
chunk's task ended without putting its claimed results back (the database or the broker
failed twice), or a worker died and its chunk's message was lost. Redis redelivers an
unacknowledged chunk after the visibility timeout, but only if the message survived; this
looks at SQL, which is always right about what is left to do.

``requeue_orphans`` runs from ``occlab requeue`` and, periodically, from every worker's main
process (``worker/reaper.py``). Several reapers at once are harmless: the UPDATE that picks a
result also stamps it, so the next reaper finds it fresh, and a chunk skips results that are
already done or being computed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from celery import Celery
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import session_scope, utcnow
from shared.jobs.dispatch import enqueue_chunks
from shared.models import LIVE, Job, JobItem, Result, ResultStatus


def requeue_stale(
    session: Session, settings: Settings, older_than_s: float | None = None
) -> dict[int, list[int]]:
    """Results of live jobs still pending or running after ``older_than_s`` (default: the
    visibility timeout), by the job to send them under; not committed.

    Pending counts from the job's creation (or the result's last requeue), running from its
    claim. A running one is put back to pending: its worker is presumed dead, and a copy of
    its chunk redelivered by Redis can then claim it as well as ours (only one will).
    """
    age = settings.visibility_timeout_s if older_than_s is None else older_than_s
    cutoff = utcnow() - timedelta(seconds=age)
    live_for = select(JobItem.job_id).join(Job, Job.id == JobItem.job_id)
    live_for = live_for.where(JobItem.result_id == Result.id, Job.status.in_(LIVE))
    waiting = and_(
        Result.status == ResultStatus.PENDING,
        or_(Result.started_at.is_(None), Result.started_at < cutoff),
        live_for.where(Job.created_at < cutoff).exists(),
    )
    lost = and_(
        Result.status == ResultStatus.RUNNING, Result.started_at < cutoff, live_for.exists()
    )
    picked = session.scalars(
        update(Result)
        .where(or_(waiting, lost))
        .values(status=ResultStatus.PENDING, started_at=utcnow())
        .returning(Result.id),
        execution_options={"synchronize_session": False},
    ).all()
    return _by_job(session, picked)


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
    settings: Settings, app: Celery, older_than_s: float | None = None
) -> dict[int, list[int]]:
    """Find the stale results, commit, then send their chunks; returns what was sent."""
    with session_scope(settings.database_url) as session:
        by_job = requeue_stale(session, settings, older_than_s)
    for job_id, ids in by_job.items():
        enqueue_chunks(app, settings, job_id, ids)
    return by_job
