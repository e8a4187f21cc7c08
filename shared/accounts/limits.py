"""Fixed-window attempt counters (logins), kept in Redis with a per-process fallback.

An attempt is counted *before* it is checked: the count and the decision are one atomic
step (Redis INCR, or a lock in memory), so parallel requests cannot all slip in under the
limit while a slow password hash runs. A success then resets (or gives back) its count.

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
# DECR only a live key: on an expired one it would leave a -1 with no expiry, a free attempt.
_GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end"


@dataclass
class AttemptLimiter:
    """At most ``limit`` attempts per key in a window of ``window_s`` seconds."""

    client: redis.Redis | None
    prefix: str
    limit: int = 5
    window_s: int = 15 * 60
    _memory: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
        return f"{self.prefix}:{digest}"

    def over(self, count: int) -> bool:
        return count > self.limit

    def count(self, key: str) -> tuple[int, int]:
        """Add one to ``key``'s window (started by its first attempt): (attempts, seconds left)."""
        if self.client is not None:
            try:
                pipe = self.client.pipeline()  # MULTI/EXEC: the three run as one
                # SET NX EX starts a window only for a new key (EXPIRE NX needs Redis 7;
                # the bundled server is 6.2); INCR keeps the key's expiry.
                pipe.set(key, 0, ex=self.window_s, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
                _, count, ttl = pipe.execute()
                return int(count), int(ttl) if ttl and ttl > 0 else self.window_s
            except redis.exceptions.RedisError as exc:
                log.warning("rate-limit store unavailable, counting in memory: %s", exc)
        with self._lock:
            count, expires = self._live(key)
            expires = expires or time.monotonic() + self.window_s
            self._memory[key] = (count + 1, expires)
            return count + 1, int(expires - time.monotonic()) + 1

    def give_back(self, key: str) -> None:
        """Uncount one attempt (it succeeded), keeping the window and the other attempts."""
        if self.client is not None:
            try:
                self.client.eval(_GIVE_BACK, 1, key)
            except redis.exceptions.RedisError as exc:
                log.warning("rate-limit store unavailable: %s", exc)
        with self._lock:
            count, expires = self._live(key)
            if count > 1:
                self._memory[key] = (count - 1, expires)
            else:
                self._memory.pop(key, None)

    def reset(self, key: str) -> None:
        if self.client is not None:
            try:
                self.client.delete(key)
            except redis.exceptions.RedisError as exc:
                log.warning("rate-limit store unavailable: %s", exc)
        with self._lock:
            self._memory.pop(key, None)

    def _live(self, key: str) -> tuple[int, float]:
        count, expires = self._memory.get(key, (0, 0.0))
        if expires and expires <= time.monotonic():
            self._memory.pop(key, None)
            return 0, 0.0
        return count, expires
