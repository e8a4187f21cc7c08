"""Asking a worker for a finished job's random baseline of faithfulness, the first time its
corpus view is opened (shared/results/baseline.py says why it waits until then).

One ``compute_baseline`` task on the detail queue, however many views arrive at once
(``mark_requested``); a request older than ``lost_after_s`` is made again. A failed send
never fails the view: the view says the baseline is on its way, and the next one asks.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.db import utcnow
from shared.jobs.dispatch import send_baseline
from shared.models import Job, JobStatus
from shared.results.baseline import mark_requested, unmark_requested
from web.extensions import celery, db, settings

log = logging.getLogger(__name__)


def ensure_baseline(job: Job) -> None:
    if job.status != JobStatus.DONE or job.baseline is not None:
        return
    stale = utcnow() - timedelta(seconds=settings().lost_after_s)
    if not mark_requested(db.session, job.id, stale):
        db.session.rollback()
        return
    db.session.commit()
    try:
        send_baseline(celery.app, settings(), job.id)
    except Exception as exc:
        log.warning("job %s: baseline not asked for, the broker failed: %s", job.id, exc)
        unmark_requested(db.session, job.id)
        db.session.commit()
    db.session.refresh(job)
