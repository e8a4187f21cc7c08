"""shared.results.cache: bytes by result and view, a namespace per database, and no failures when
Redis is down (a miss and a no-op instead)."""

from __future__ import annotations

import redis

from shared.config import Settings
from shared.results.cache import ViewCache, namespace_for


def test_round_trip_with_ttl(settings: Settings, redis_client: redis.Redis) -> None:
    views = ViewCache.from_settings(settings)
    assert views.namespace == namespace_for(settings.database_url)
    try:
        assert views.get(1, "png") is None
        views.set(1, "png", b"\x89PNG")
        assert views.get(1, "png") == b"\x89PNG"
        assert 0 < redis_client.ttl(views.key(1, "png")) <= settings.cache_ttl_s
        assert views.ping()
    finally:
        redis_client.delete(views.key(1, "png"))
        views.close()


def test_databases_do_not_share_views() -> None:
    assert namespace_for("sqlite:///a.db") != namespace_for("sqlite:///b.db")


def test_redis_down_is_a_miss(settings: Settings) -> None:
    views = ViewCache.from_settings(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    views.set(1, "json", b"{}")
    assert views.get(1, "json") is None
    assert not views.ping()
