"""Settings, read from the environment when asked for and never at import.

One place for every knob, so the web process, the workers and the CLI agree. The embedded
defaults (SQLite in ``instance/``, the bundled Redis started by ``occlab run``) need no
system services; ``DATABASE_URL`` and ``REDIS_URL`` select real ones with the same code.
The session key has no default: :func:`instance_secret_key` makes one for ``occlab run``
and ``occlab web --dev``; everything else must be given ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

N = TypeVar("N", int, float)
ROOT = Path(__file__).resolve().parents[1]


# A key that was once the default here: anyone who read the source could forge sessions.
KNOWN_WEAK_KEYS = frozenset({"", "dev-only-not-secret"})


@dataclass(frozen=True)
class Settings:
    """Every setting, each read by :func:`load_settings` from one environment variable.

    A setting whose variable is unset or empty takes the default of its field below.

    - ``instance_dir`` (``OCCLAB_INSTANCE``, default ``instance/``): SQLite, uploads, the
      bundled Redis's socket and the launcher's ``secret_key`` file.
    - ``database_url`` (``DATABASE_URL``, default SQLite in ``instance_dir``).
    - ``redis_url`` (``REDIS_URL``, default the bundled Redis's socket): broker and cache.
    - ``secret_key`` (``SECRET_KEY``, no default): signs session cookies; the web refuses to
      start without it except under tests or ``occlab web --dev`` (``occlab run`` makes one).
    - ``model_dir`` (``OCCLAB_MODEL_DIR``, default the shipped ``models/default``).
    - ``model_cache`` (``OCCLAB_MODEL_CACHE``, default ``model-cache/`` in ``instance_dir``):
      where a machine keeps registered models' files fetched from the database by hash.
    - ``https`` (``OCCLAB_HTTPS``: 1/true/yes/on): cookies are sent over HTTPS only.
    - ``proxy_hops`` (``OCCLAB_PROXY_HOPS``): reverse proxies in front of the web
      whose ``X-Forwarded-*`` headers are trusted; set it behind a proxy, or every client
      shares the proxy's address (and its login rate limit).
    - ``chunk_size`` (``OCCLAB_CHUNK_SIZE``) and ``chunk_cells`` (``OCCLAB_CHUNK_CELLS``):
      the most results, and grid cells, one task computes; a paper with at least
      ``chunk_cells`` cells is a task of its own, on the GPU queue.
    - ``gpu_chunk_size`` (``OCCLAB_GPU_CHUNK_SIZE``) and ``gpu_chunk_cells``
      (``OCCLAB_GPU_CHUNK_CELLS``): the same for chunks sent to the GPU queue, sized to fill
      a GPU (a few hundred papers) rather than one CPU core.
    - ``max_grid_cells`` (``OCCLAB_MAX_GRID_CELLS``): the largest grid (title units x
      abstract units) a paper may have; beyond it the paper is refused.
    - ``max_attempts`` (``OCCLAB_MAX_ATTEMPTS``) and ``retry_backoff_s``
      (``OCCLAB_RETRY_BACKOFF``, seconds): how often and how patiently a paper is retried.
    - ``max_upload_bytes`` (``OCCLAB_MAX_UPLOAD_BYTES``) and ``max_papers_per_job``
      (``OCCLAB_MAX_PAPERS_PER_JOB``): the size of one submission.
    - ``inline_bytes`` (``OCCLAB_INLINE_BYTES``): a submission up to this size is checked
      and written in the request (errors answered at once); a larger one is stored and
      read into its job by a worker (``ingesting``), so no request waits on it.
    - ``object_store`` (``OCCLAB_OBJECT_STORE``): where stored files' bytes go, as
      s3://bucket/prefix; empty, the database (credentials: the usual AWS_ACCESS_KEY_ID and
      AWS_SECRET_ACCESS_KEY).
    - ``s3_endpoint`` (``OCCLAB_S3_ENDPOINT``): the object store's URL (MinIO's); empty, AWS.
    - ``visibility_timeout_s`` (``OCCLAB_VISIBILITY_TIMEOUT``): when an unacknowledged task
      is redelivered.
    - ``heartbeat_s`` (``OCCLAB_HEARTBEAT``) and ``lost_after_s`` (``OCCLAB_LOST_AFTER``):
      a worker stamps the results it computes every ``heartbeat_s``; one not stamped for
      ``lost_after_s`` lost its worker and is sent again.
    - ``reap_interval_s`` (``OCCLAB_REAP_INTERVAL``): how often each worker looks for
      results no task will compute.
    - ``publish_timeout_s`` (``OCCLAB_PUBLISH_TIMEOUT``): how long a submission waits on
      the broker before answering 503 (the job is kept and sent later).
    - ``torch_threads`` (``OCCLAB_TORCH_THREADS``, 0 = automatic): PyTorch threads per
      process; automatic is the CPUs the process may use divided by the worker's
      concurrency (``shared/engine/threads.py``).
    - ``task_queue`` (``OCCLAB_QUEUE``), ``gpu_queue`` (``OCCLAB_GPU_QUEUE``) and
      ``gpu_threshold`` (``OCCLAB_GPU_THRESHOLD``): a job with this many new results goes
      to the GPU queue.
    - ``cache_ttl_s`` (``OCCLAB_CACHE_TTL``, seconds): how long rendered views stay cached.
    - ``keep_boilerplate`` (``OCCLAB_KEEP_BOILERPLATE``: 1/true/yes/on): jobs that do not
      say keep placeholders and publisher lines as units (``shared/boilerplate.py``).
    """

    instance_dir: Path
    database_url: str
    redis_url: str
    secret_key: str
    model_dir: Path | None
    model_cache: Path | None  # None: model-cache/ in instance_dir (see model_cache_dir)
    chunk_size: int = 16
    chunk_cells: int = 20_000
    gpu_chunk_size: int = 256
    gpu_chunk_cells: int = 400_000
    max_grid_cells: int = 250_000
    max_attempts: int = 3
    retry_backoff_s: float = 2.0
    max_upload_bytes: int = 2 * 1024**3
    max_papers_per_job: int = 1_000_000
    inline_bytes: int = 1024**2
    object_store: str = ""
    s3_endpoint: str = ""
    visibility_timeout_s: int = 3600
    heartbeat_s: float = 5.0
    lost_after_s: float = 30.0
    reap_interval_s: float = 15.0
    publish_timeout_s: float = 5.0
    torch_threads: int = 0
    task_queue: str = "occlab"
    gpu_queue: str = "occlab-gpu"
    gpu_threshold: int = 500
    cache_ttl_s: int = 7 * 24 * 3600
    https: bool = False
    proxy_hops: int = 0
    keep_boilerplate: bool = False

    @property
    def model_cache_dir(self) -> Path:
        return self.model_cache or self.instance_dir / "model-cache"

    @property
    def broker_url(self) -> str:
        """Celery spells a Unix-socket Redis ``redis+socket://``; redis-py spells it ``unix://``."""
        if self.redis_url.startswith("unix://"):
            return "redis+socket://" + self.redis_url[len("unix://") :]
        return self.redis_url

    @property
    def detail_queue(self) -> str:
        """Where the web sends a result's per-token traces, asked for by a person waiting on
        its page: a queue of its own, which every worker reads first."""
        return f"{self.task_queue}-detail"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _number(env: Mapping[str, str], name: str, default: N, kind: Callable[[str], N]) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name}={raw!r} must be {what}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name) or default


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
        secret_key=env.get("SECRET_KEY") or "",
        model_dir=Path(model_dir) if model_dir else None,
        model_cache=Path(env["OCCLAB_MODEL_CACHE"]) if env.get("OCCLAB_MODEL_CACHE") else None,
        **{name: read(env, var, _DEFAULTS[name]) for name, var, read in _FROM_ENV},
    )


# The settings with a default, each with its variable and how to read it; the default is
# the Settings field's own, so it is written in one place.
_FROM_ENV: tuple[tuple[str, str, Callable[[Mapping[str, str], str, Any], Any]], ...] = (
    ("chunk_size", "OCCLAB_CHUNK_SIZE", _int),
    ("chunk_cells", "OCCLAB_CHUNK_CELLS", _int),
    ("gpu_chunk_size", "OCCLAB_GPU_CHUNK_SIZE", _int),
    ("gpu_chunk_cells", "OCCLAB_GPU_CHUNK_CELLS", _int),
    ("max_grid_cells", "OCCLAB_MAX_GRID_CELLS", _int),
    ("max_attempts", "OCCLAB_MAX_ATTEMPTS", _int),
    ("retry_backoff_s", "OCCLAB_RETRY_BACKOFF", _float),
    ("max_upload_bytes", "OCCLAB_MAX_UPLOAD_BYTES", _int),
    ("max_papers_per_job", "OCCLAB_MAX_PAPERS_PER_JOB", _int),
    ("inline_bytes", "OCCLAB_INLINE_BYTES", _int),
    ("object_store", "OCCLAB_OBJECT_STORE", _text),
    ("s3_endpoint", "OCCLAB_S3_ENDPOINT", _text),
    ("visibility_timeout_s", "OCCLAB_VISIBILITY_TIMEOUT", _int),
    ("heartbeat_s", "OCCLAB_HEARTBEAT", _float),
    ("lost_after_s", "OCCLAB_LOST_AFTER", _float),
    ("reap_interval_s", "OCCLAB_REAP_INTERVAL", _float),
    ("publish_timeout_s", "OCCLAB_PUBLISH_TIMEOUT", _float),
    ("torch_threads", "OCCLAB_TORCH_THREADS", _int),
    ("gpu_threshold", "OCCLAB_GPU_THRESHOLD", _int),
    ("task_queue", "OCCLAB_QUEUE", _text),
    ("gpu_queue", "OCCLAB_GPU_QUEUE", _text),
    ("cache_ttl_s", "OCCLAB_CACHE_TTL", _int),
    ("https", "OCCLAB_HTTPS", _bool),
    ("proxy_hops", "OCCLAB_PROXY_HOPS", _int),
    ("keep_boilerplate", "OCCLAB_KEEP_BOILERPLATE", _bool),
)
_DEFAULTS = {f.name: f.default for f in fields(Settings) if f.default is not MISSING}


def secret_key_problem(key: str) -> str | None:
    """What is wrong with ``key`` as the session-signing key (one line), or None."""
    if key not in KNOWN_WEAK_KEYS:
        return None
    return (
        "SECRET_KEY is not set: set it to a long random string, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    )


def instance_secret_key(instance_dir: Path) -> str:
    """The instance's own random session key, made once and kept in ``secret_key`` (mode
    600), so logins survive a restart and no two installs share a key."""
    path = instance_dir / "secret_key"
    with suppress(FileNotFoundError):
        if key := path.read_text(encoding="utf-8").strip():
            return key
    key = secrets.token_urlsafe(48)
    instance_dir.mkdir(parents=True, exist_ok=True)
    # Created 600 (never briefly world-readable) and renamed into place whole.
    partial = path.with_name(f".secret_key.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    os.replace(partial, path)
    return key


def _normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy's default is psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
