"""Two daemon threads in every worker's main process: the reaper and the liveness beat.

Celery beat is not used: it is one more process that must run exactly once per deployment.
Instead each worker starts both threads on ``worker_ready``, in its main process (the pool
children are already forked, so none inherits them), and stops them on ``worker_shutdown``
(``worker.app.create_celery_app`` connects both).

The reaper sends what no task will compute (the rule is in ``shared/jobs/requeue.py``): once
at start-up, so a restarted worker picks up what a crash left, then every
``reap_interval_s``. Several workers doing this is harmless.

The beat refreshes this worker's key in Redis every ``heartbeat_s``
(``shared/jobs/liveness.py``), which ``/healthz`` counts. It is its own thread so that a
reap stuck on a hung database does not make a live worker look dead.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from celery import Celery

from shared.config import Settings
from shared.jobs import liveness
from shared.jobs.requeue import requeue_orphans

log = logging.getLogger(__name__)

_STOP = threading.Event()
BEAT_SOCKET_TIMEOUT_S = 2.0


def start_reaper(app: Celery, settings: Settings, worker: str = "worker") -> None:
    _STOP.clear()
    reaping = threading.Thread(target=reap_forever, args=(app, settings), name="occlab-reaper")
    beating = threading.Thread(target=beat_forever, args=(settings, worker), name="occlab-alive")
    for thread in (reaping, beating):
        thread.daemon = True
        thread.start()


def stop_reaper(**_: Any) -> None:
    """``worker_shutdown``'s receiver."""
    _STOP.set()


def reap_forever(app: Celery, settings: Settings, stop: threading.Event = _STOP) -> None:
    interval = max(0.5, settings.reap_interval_s)
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
        log.warning("job %s: %d result(s) no task would compute sent", job_id, len(ids))
    return sum(len(ids) for ids in sent.values())


def beat_forever(settings: Settings, worker: str, stop: threading.Event = _STOP) -> None:
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=BEAT_SOCKET_TIMEOUT_S,
        socket_connect_timeout=BEAT_SOCKET_TIMEOUT_S,
    )
    try:
        while True:
            try:
                liveness.beat(client, settings, worker)
            except redis.exceptions.RedisError as exc:  # Redis down: /healthz says so itself
                log.debug("liveness beat failed: %s", exc)
            if stop.wait(max(0.5, settings.heartbeat_s)):
                break
        liveness.forget(client, settings, worker)
    except redis.exceptions.RedisError:
        pass
    finally:
        client.close()
