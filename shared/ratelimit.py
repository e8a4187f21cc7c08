"""Fixed-window failure counters (failed logins), kept in Redis with a per-process fallback.

Redis makes the limit hold across gunicorn workers and restarts. When Redis cannot be
reached the counters live in this process's memory instead: weaker (per worker) but a
Redis outage never lets an attacker guess without any limit, and never blocks logins.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

import redis

log = logging.getLogger(__name__)


@dataclass
class FailureLimiter:
    """At most ``limit`` failures per key in a window of ``window_s`` seconds."""

    client: redis.Redis | None
    prefix: str
    limit: int = 5
    window_s: int = 15 * 60
    _memory: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
        return f"{self.prefix}:{digest}"

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 when it is under the limit."""
        count, ttl = self._read(key)
        return max(ttl, 1) if count >= self.limit else 0

    def fail(self, key: str) -> int:
        """Count one failure; returns the failures in the current window."""
        if self.client is not None:
            try:
                pipe = self.client.pipeline()
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
                count, _ = pipe.execute()
                return int(count)
            except redis.exceptions.RedisError as exc:
                log.warning("rate-limit store unavailable, counting in memory: %s", exc)
        with self._lock:
            count, expires = self._live(key)
            self._memory[key] = (count + 1, expires or time.monotonic() + self.window_s)
            return count + 1

    def reset(self, key: str) -> None:
        if self.client is not None:
            try:
                self.client.delete(key)
            except redis.exceptions.RedisError as exc:
                log.warning("rate-limit store unavailable: %s", exc)
        with self._lock:
            self._memory.pop(key, None)

    def _read(self, key: str) -> tuple[int, int]:
        """(failures, seconds left) from Redis or memory, whichever counted more."""
        with self._lock:
            count, expires = self._live(key)
        found = (count, int(expires - time.monotonic()) + 1 if count else 0)
        if self.client is not None:
            try:
                pipe = self.client.pipeline()
                pipe.get(key)
                pipe.ttl(key)
                raw, ttl = pipe.execute()
                if int(raw or 0) > found[0]:
                    found = (int(raw), int(ttl) if ttl and ttl > 0 else self.window_s)
            except redis.exceptions.RedisError as exc:
                log.warning("rate-limit store unavailable, reading memory: %s", exc)
        return found

    def _live(self, key: str) -> tuple[int, float]:
        count, expires = self._memory.get(key, (0, 0.0))
        if expires and expires <= time.monotonic():
            self._memory.pop(key, None)
            return 0, 0.0
        return count, expires
