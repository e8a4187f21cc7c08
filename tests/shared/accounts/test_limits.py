"""The login limiter against both Redis servers the product runs on: the system one (7.x)
and the bundled one of ``make run`` (6.2, which lacks newer commands such as EXPIRE NX)."""

from __future__ import annotations

import time
import uuid

import redis

from shared.accounts.limits import AttemptLimiter


def test_counts_in_redis_with_one_window(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    limiter = AttemptLimiter(client, prefix=f"test:{uuid.uuid4().hex}", limit=2, window_s=60)
    key = limiter.key("ann@example.org", "127.0.0.1")
    counts = [limiter.count(key) for _ in range(3)]
    assert [c for c, _ in counts] == [1, 2, 3]
    assert limiter.over(counts[-1][0]) and not limiter.over(counts[1][0])
    assert all(0 < left <= 60 for _, left in counts)
    # Counted in Redis (shared by every web process), not in this process's fallback.
    assert int(client.get(key) or 0) == 3 and 0 < client.ttl(key) <= 60
    assert not limiter._memory
    limiter.give_back(key)
    assert int(client.get(key) or 0) == 2
    limiter.reset(key)
    assert client.get(key) is None
    client.close()


def test_a_new_window_starts_after_the_last_one_expired(embedded_redis_url: str) -> None:
    client = redis.Redis.from_url(embedded_redis_url)
    limiter = AttemptLimiter(client, prefix=f"test:{uuid.uuid4().hex}", window_s=60)
    key = limiter.key("bob@example.org")
    limiter.count(key)
    limiter.count(key)
    client.pexpire(key, 1)  # end the window now rather than waiting 60 s
    time.sleep(0.05)
    count, left = limiter.count(key)
    assert count == 1 and 0 < left <= 60
    client.close()
