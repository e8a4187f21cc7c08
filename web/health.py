"""``/healthz``: can this process reach the database and Redis, and is any worker alive?

For load balancers and people: 200 only when all three hold, 503 ("degraded") otherwise,
with each part named so the operator knows which to look at.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from web.extensions import cache, celery, db

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)
PING_TIMEOUT_S = 1.0


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health: database unreachable: %s", exc)
        return "error"
    return "ok"


def _redis() -> str:
    return "ok" if cache.views.ping() else "error"


def _workers() -> int:
    """Workers answering a broadcast ping within a second (0 when none, or on any error)."""
    try:
        replies = celery.app.control.inspect(timeout=PING_TIMEOUT_S).ping()
    except Exception as exc:
        log.warning("health: could not ping workers: %s", exc)
        return 0
    return len(replies or {})


@health.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks = {"database": _database(), "redis": _redis()}
    # The broker is this Redis: without it the ping would only wait on connection retries.
    workers = _workers() if checks["redis"] == "ok" else 0
    ok = all(v == "ok" for v in checks.values()) and workers > 0
    body = {**checks, "workers": workers, "status": "ok" if ok else "degraded"}
    return jsonify(body), 200 if ok else 503
