"""Asking a worker for a done bulk result's per-token traces, the first time someone looks.

Workers store the bulk profile by default (``worker/processing.py``); the result page and
the API's result JSON call :func:`ensure_traces`, which sends one ``compute_traces`` task on
the detail queue (``shared.results.traces.mark_requested`` makes it one, however many views
arrive at once) and shows the contributions meanwhile. A failed send never fails the view.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.db import utcnow
from shared.jobs.dispatch import send_traces
from shared.models import Result, TracesStatus
from shared.results.traces import mark_requested, unmark_requested
from web.extensions import celery, db, settings

log = logging.getLogger(__name__)


def ensure_traces(result: Result) -> TracesStatus | None:
    """The result's traces status, after asking for the traces if they are pending and
    nobody has asked (or the last request is older than ``lost_after_s``: lost)."""
    status = result.traces_status
    if status != TracesStatus.PENDING:
        return status
    stale = utcnow() - timedelta(seconds=settings().lost_after_s)
    if not mark_requested(db.session, result.id, stale):
        db.session.rollback()
        return status
    db.session.commit()  # before sending: the task must find the mark, and others see it
    try:
        send_traces(celery.app, settings(), [result.id])
    except Exception as exc:
        log.warning("result %s: traces not asked for, the broker failed: %s", result.id, exc)
        unmark_requested(db.session, result.id)
        db.session.commit()
    return status
