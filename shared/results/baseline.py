"""The random baseline a reader compares a job's faithfulness against (no torch here).

Per finished job, the AOPC of random rankings (``shared.engine.faithfulness.random_baseline``:
10 seeded shuffles per paper) over a sample of up to ``SAMPLE`` of its done results. It
costs about a fifth of a second a paper, so it is computed once, by a worker, the first
time the job's corpus view is opened (``web/baseline.py`` asks; ``worker/baseline.py``
computes), and stored on the job.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.db import stamp_once
from shared.models import Job, JobItem, Result, ResultStatus

SAMPLE = 200
KEPT = ("papers", "seeds", "aopc_comprehensiveness", "aopc_sufficiency")


def sample(session: Session, job_id: int, size: int = SAMPLE) -> list[int]:
    """Up to ``size`` of the job's done results, drawn with the job's id as the seed (the
    same sample every time), in id order."""
    done = session.scalars(
        select(Result.id)
        .join(JobItem, JobItem.result_id == Result.id)
        .where(JobItem.job_id == job_id, Result.status == ResultStatus.DONE)
        .distinct()
        .order_by(Result.id)
    ).all()
    if len(done) <= size:
        return list(done)
    return sorted(random.Random(job_id).sample(list(done), size))


def mark_requested(session: Session, job_id: int, stale_before: datetime) -> bool:
    """Mark the baseline asked for; True for the one caller that should send the task (a
    request older than ``stale_before`` counts as lost)."""
    return stamp_once(
        session, Job.baseline_requested_at, job_id, stale_before, Job.baseline.is_(None)
    )


def unmark_requested(session: Session, job_id: int) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(baseline_requested_at=None))


def keep(computed: dict[str, Any]) -> dict[str, Any]:
    """What the job stores of ``random_baseline``'s answer (not the per-paper values)."""
    return {k: computed[k] for k in KEPT}


def state(job: Job) -> str:
    """How the baseline stands, for cache keys and the page: done, pending or none (a job
    still running has none yet)."""
    if job.baseline is not None:
        return "done"
    return "pending" if job.baseline_requested_at is not None else "none"
