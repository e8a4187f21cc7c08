"""``/healthz``: can this process reach the database and Redis, and is any worker alive?

For load balancers and people: 200 only when all three hold, 503 ("degraded") otherwise,
with each part named so the operator knows which to look at. Each part is checked on its
own, so one outage never hides or fakes another: workers are counted from the keys their
main processes refresh in Redis (``shared/jobs/liveness.py``), which needs neither the
database nor an answer to a control ping. The ping counted only replies that reached this
process within one second from each worker's consumer loop, so a worker whose loop was late
(busy, reconnecting, a slow broker) counted as 0 although it was alive.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from shared.jobs.liveness import live_workers
from web.errors import RETRY_AFTER_S
from web.extensions import cache, db, settings

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health: database unreachable: %s", exc)
        db.session.rollback()
        return "error"
    return "ok"


def _redis() -> str:
    return "ok" if cache.views.ping() else "error"


def _workers() -> int | None:
    """Workers that beat within the last few ``heartbeat_s``; None when Redis cannot say."""
    try:
        return len(live_workers(cache.views.client, settings()))
    except redis.exceptions.RedisError as exc:
        log.warning("health: could not count workers: %s", exc)
        return None


@health.get("/healthz")
def healthz() -> tuple[Response, int, dict[str, str]]:
    checks = {"database": _database(), "redis": _redis()}
    workers = _workers() if checks["redis"] == "ok" else None
    ok = all(v == "ok" for v in checks.values()) and bool(workers)
    body = {**checks, "workers": workers, "status": "ok" if ok else "degraded"}
    return jsonify(body), 200 if ok else 503, {} if ok else {"Retry-After": str(RETRY_AFTER_S)}
