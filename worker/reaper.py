"""Requeue orphaned results from every worker's main process (``shared/requeue.py``).

Celery beat is not used: it is one more process that must run exactly once per deployment.
Instead each worker starts a daemon thread on ``worker_ready``, in its main process (the pool
children are already forked, so none inherits it): it looks once at start-up, so a restarted
worker picks up what a crash left, and then every half visibility timeout, and it stops on
``worker_shutdown`` (``worker.app.create_celery_app`` connects both). Several workers doing
this is harmless (see ``shared/requeue.py``). A result is orphaned once it has waited a whole
visibility timeout, so Redis's own redelivery of a dead worker's chunk comes first when the
message survived.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery

from shared.config import Settings
from shared.jobs.requeue import requeue_orphans

log = logging.getLogger(__name__)

_STOP = threading.Event()


def start_reaper(app: Celery, settings: Settings) -> None:
    _STOP.clear()
    thread = threading.Thread(
        target=reap_forever, args=(app, settings), name="occlab-reaper", daemon=True
    )
    thread.start()


def stop_reaper(**_: Any) -> None:
    """``worker_shutdown``'s receiver."""
    _STOP.set()


def reap_forever(app: Celery, settings: Settings, stop: threading.Event = _STOP) -> None:
    interval = max(1.0, settings.visibility_timeout_s / 2)
    while True:
        reap_once(app, settings)
        if stop.wait(interval):
            return


def reap_once(app: Celery, settings: Settings) -> int:
    """One pass; a failure (database or broker down) is logged and tried next time."""
    try:
        sent = requeue_orphans(settings, app)
    except Exception:
        log.exception("requeueing orphaned results failed; trying again later")
        return 0
    for job_id, ids in sent.items():
        log.warning("job %s: %d orphaned result(s) sent again", job_id, len(ids))
    return sum(len(ids) for ids in sent.values())
