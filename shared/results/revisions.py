"""Which results an edit came from, and which edits a result led to ("Edit this paper").

The link is kept on job items (``JobItem.revises_id``): results are shared by content, so a
result may be the edit of several results, reached again without one, or edited many times.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Job, JobItem, Result


def revises(session: Session, team_id: int, result_id: int) -> list[int]:
    """The results ``result_id`` was submitted as an edit of, latest edit first."""
    latest = func.max(Job.id)
    stmt = (
        select(JobItem.revises_id)
        .join(Job, Job.id == JobItem.job_id)
        .join(Result, Result.id == JobItem.revises_id)
        .where(JobItem.result_id == result_id, Result.team_id == team_id)
        .group_by(JobItem.revises_id)
        .order_by(latest.desc())
    )
    return [rid for rid in session.scalars(stmt) if rid is not None]


def revised_as(session: Session, team_id: int, result_id: int) -> list[int]:
    """The results submitted as edits of ``result_id``, latest first."""
    latest = func.max(Job.id)
    stmt = (
        select(JobItem.result_id)
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.revises_id == result_id, Job.team_id == team_id)
        .group_by(JobItem.result_id)
        .order_by(latest.desc())
    )
    return list(session.scalars(stmt))


def submitted_detail(session: Session, result_id: int) -> str | None:
    """The detail (bulk or full) of the latest job that asked for ``result_id``."""
    stmt = (
        select(Job.detail)
        .join(JobItem, JobItem.job_id == Job.id)
        .where(JobItem.result_id == result_id)
        .order_by(Job.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)
