"""Settings, read from the environment when asked for and never at import.

One place for every knob, so the web process, the workers and the CLI agree. The embedded
defaults (SQLite in ``instance/``, the bundled Redis started by ``occlab run``) need no
system services; ``DATABASE_URL`` and ``REDIS_URL`` select real ones with the same code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    database_url: str
    redis_url: str
    secret_key: str
    model_dir: Path | None
    chunk_size: int = 16
    max_attempts: int = 3
    retry_backoff_s: float = 2.0
    max_upload_bytes: int = 20 * 1024 * 1024
    max_papers_per_job: int = 20_000
    visibility_timeout_s: int = 3600
    task_queue: str = "occlab"
    gpu_queue: str = "occlab-gpu"
    gpu_threshold: int = 500
    cache_ttl_s: int = 7 * 24 * 3600

    @property
    def broker_url(self) -> str:
        """Celery spells a Unix-socket Redis ``redis+socket://``; redis-py spells it ``unix://``."""
        if self.redis_url.startswith("unix://"):
            return "redis+socket://" + self.redis_url[len("unix://") :]
        return self.redis_url

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} must be a whole number") from exc


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``) at call time."""
    env = os.environ if env is None else env
    instance = Path(env.get("OCCLAB_INSTANCE", str(ROOT / "instance"))).resolve()
    database = env.get("DATABASE_URL") or f"sqlite:///{instance / 'occlab.db'}"
    redis = env.get("REDIS_URL") or f"unix://{instance / 'redis.sock'}"
    model_dir = env.get("OCCLAB_MODEL_DIR")
    return Settings(
        instance_dir=instance,
        database_url=_normalise_database_url(database),
        redis_url=redis,
        secret_key=env.get("SECRET_KEY") or "dev-only-not-secret",
        model_dir=Path(model_dir) if model_dir else None,
        chunk_size=_int(env, "OCCLAB_CHUNK_SIZE", 16),
        max_attempts=_int(env, "OCCLAB_MAX_ATTEMPTS", 3),
        max_upload_bytes=_int(env, "OCCLAB_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        visibility_timeout_s=_int(env, "OCCLAB_VISIBILITY_TIMEOUT", 3600),
        gpu_threshold=_int(env, "OCCLAB_GPU_THRESHOLD", 500),
        task_queue=env.get("OCCLAB_QUEUE") or "occlab",
        gpu_queue=env.get("OCCLAB_GPU_QUEUE") or "occlab-gpu",
    )


def _normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy's default is psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
