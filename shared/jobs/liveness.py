"""Which workers are alive: each worker's main process keeps a short-lived key in Redis.

``/healthz`` used to broadcast a Celery control ping and count the replies within a second.
A worker answers that ping from its consumer loop; a reply later than the second (a loop
busy or reconnecting, a slow broker) is dropped, so the page could say ``workers: 0`` about
live workers. A key that a worker
refreshes every ``heartbeat_s`` and that expires after a few missed beats says what the
operator wants to know: which workers were alive a moment ago, whatever else is down.

Keys are named after the deployment's task queue: two deployments that share a Redis never
share a queue (they would take each other's tasks), so they never count each other's workers.
"""

from __future__ import annotations

import redis

from shared.config import Settings

# A worker counts as alive for this many beats after its last one.
MISSED_BEATS = 3


def _prefix(settings: Settings) -> str:
    return f"occlab:workers:{settings.task_queue}:"


def ttl_s(settings: Settings) -> int:
    return max(2, round(MISSED_BEATS * settings.heartbeat_s))


def beat(client: redis.Redis, settings: Settings, worker: str) -> None:
    """Say ``worker`` is alive for the next few beats; raises ``RedisError`` when down."""
    client.set(_prefix(settings) + worker, "1", ex=ttl_s(settings))


def forget(client: redis.Redis, settings: Settings, worker: str) -> None:
    """A worker shutting down stops counting at once, not a few beats later."""
    client.delete(_prefix(settings) + worker)


def live_workers(client: redis.Redis, settings: Settings) -> list[str]:
    """The workers whose key has not expired; raises ``RedisError`` when Redis is down."""
    prefix = _prefix(settings)
    keys = client.scan_iter(match=prefix + "*", count=100)
    names = (k.decode() if isinstance(k, bytes) else str(k) for k in keys)
    return sorted(name[len(prefix) :] for name in names)
