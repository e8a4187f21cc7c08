"""A job's progress and end: counts recomputed from its results in SQL, cancel, team lookup."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, joinedload

from shared.db import utcnow
from shared.models import FINISHED, LIVE, Job, JobItem, JobStatus, Result, ResultStatus


def team_job(session: Session, team_id: int, job_id: int) -> Job | None:
    """Job ``job_id`` if it belongs to ``team_id``: another team's job is as absent as one
    that does not exist. Its model comes in the same query (every view of a job shows it)."""
    return session.scalar(
        select(Job).options(joinedload(Job.model)).where(Job.id == job_id, Job.team_id == team_id)
    )


def group_of(session: Session, job: Job) -> list[Job]:
    """The jobs submitted with ``job`` under other models (its group, ``job`` included), in
    submission order with their models; empty for a job of one model."""
    if job.group_id is None:
        return []
    return list(
        session.scalars(
            select(Job)
            .options(joinedload(Job.model))
            .where(Job.group_id == job.group_id, Job.team_id == job.team_id)
            .order_by(Job.id)
        )
    )


def refresh_jobs(session: Session, job_ids: Sequence[int]) -> None:
    """Recount done/failed from the results and move each job's status along."""
    if not job_ids:
        return
    _lock_jobs(session, job_ids)
    done = func.sum(case((Result.status == ResultStatus.DONE, 1), else_=0))
    failed = func.sum(case((Result.status == ResultStatus.FAILED, 1), else_=0))
    running = func.sum(case((Result.status == ResultStatus.RUNNING, 1), else_=0))
    rows = session.execute(
        select(JobItem.job_id, done, failed, running)
        .join(Result, Result.id == JobItem.result_id)
        .where(JobItem.job_id.in_(job_ids))
        .group_by(JobItem.job_id)
    ).all()
    for job_id, n_done, n_failed, n_running in rows:
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.status in FINISHED:  # its counts stay as they were at the end
            continue
        job.done, job.failed = int(n_done or 0), int(n_failed or 0)
        _advance(job, int(n_running or 0))


def _lock_jobs(session: Session, job_ids: Sequence[int]) -> None:
    """Lock the jobs before counting: row locks on PostgreSQL, the write lock on SQLite.

    Without it, two chunks that finish together can each count before the other commits,
    and the staler count, written last, leaves a finished job "running" for ever. Locking
    one id at a time, in order, keeps two refreshes of overlapping jobs from deadlocking.
    """
    for job_id in sorted(set(job_ids)):
        session.execute(
            update(Job).where(Job.id == job_id).values(done=Job.done),
            execution_options={"synchronize_session": False},
        )


def _advance(job: Job, running: int) -> None:
    # A finished job stays finished: a resubmission that resets a result it shares (a failed
    # paper tried again) concerns the new job, not this one.
    if job.status in FINISHED or job.status == JobStatus.INGESTING:  # moves on when read
        return
    if job.done + job.failed >= job.total:
        job.status = JobStatus.FAILED if job.failed == job.total else JobStatus.DONE
        job.finished_at = job.finished_at or utcnow()
    elif running or job.done or job.failed:
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or utcnow()


def cancel_job(session: Session, job: Job) -> bool:
    """Cancel a job that has not finished; its chunks not yet started then do nothing.

    A conditional UPDATE: a worker's refresh that just finished the job (or holds its row
    lock, finishing it now) wins over the status this session read before."""
    cancelled = session.scalar(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(LIVE))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
        .returning(Job.id),
        execution_options={"synchronize_session": False},
    )
    if cancelled is not None:
        _cancel_unneeded_results(session, job.id)
    session.refresh(job)
    return cancelled is not None


def _cancel_unneeded_results(session: Session, job_id: int) -> None:
    """The job's unfinished results that no live job still needs end ``cancelled``, so
    nothing shows them as waiting for ever. A running one is included: if its worker is
    alive it stores the result as done anyway; if not, nothing else would end it."""
    mine = select(JobItem.result_id).where(JobItem.job_id == job_id)
    needed = (
        select(JobItem.result_id)
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.result_id == Result.id, Job.status.in_(LIVE))
        .exists()
    )
    unfinished = (ResultStatus.PENDING, ResultStatus.RUNNING)
    session.execute(
        update(Result)
        .where(Result.id.in_(mine), Result.status.in_(unfinished), ~needed)
        .values(status=ResultStatus.CANCELLED, finished_at=utcnow(), claimed_by=None),
        execution_options={"synchronize_session": False},
    )
