"""Rendered views of finished results (JSON, PNG, SVG) and finished jobs' corpus views, kept
in Redis as bytes.

A done result never changes, so its views can be cached until they expire; the one
exception, a bulk result's per-token traces arriving later, is keyed apart (``json-pending``,
see web/downloads.py) and forgotten when they are stored. The cache is an
optimisation only: when Redis is down every call degrades to a miss (or a no-op) and the
caller renders from SQL, so an outage makes pages slower but never breaks them.
"""

from __future__ import annotations

import hashlib
import logging

import redis

from shared.config import Settings

log = logging.getLogger(__name__)

# Short timeouts: a cache that answers slowly is worse than rendering again.
SOCKET_TIMEOUT_S = 0.5


def namespace_for(database_url: str) -> str:
    """Result ids are unique only within one database; deployments (or test runs) that share
    a Redis but not a database must not read each other's views."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:12]


class ViewCache:
    def __init__(self, client: redis.Redis, ttl_s: int, namespace: str) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.namespace = namespace

    @classmethod
    def from_settings(cls, settings: Settings, namespace: str | None = None) -> ViewCache:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
        )
        return cls(client, settings.cache_ttl_s, namespace or namespace_for(settings.database_url))

    def key(self, result_id: int, view: str, kind: str = "result") -> str:
        """``kind`` names what the id is of: a result, or a finished job (its corpus view)."""
        return f"occlab:{self.namespace}:{kind}:{result_id}:{view}"

    def get(self, result_id: int, view: str, kind: str = "result") -> bytes | None:
        try:
            value = self.client.get(self.key(result_id, view, kind))
        except redis.exceptions.RedisError as exc:
            log.warning("view cache unavailable, rendering uncached: %s", exc)
            return None
        return value if isinstance(value, bytes) else None

    def set(self, result_id: int, view: str, data: bytes, kind: str = "result") -> None:
        try:
            self.client.set(self.key(result_id, view, kind), data, ex=self.ttl_s)
        except redis.exceptions.RedisError as exc:
            log.warning("view cache unavailable, not storing %s: %s", view, exc)

    def forget(self, result_id: int, *views: str) -> None:
        """Drop cached views whose result changed (a bulk result's traces arrived)."""
        try:
            self.client.delete(*(self.key(result_id, v) for v in views))
        except redis.exceptions.RedisError as exc:
            log.warning("view cache unavailable, not forgetting %s: %s", views, exc)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.exceptions.RedisError:
            return False

    def close(self) -> None:
        self.client.close()
