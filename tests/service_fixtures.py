"""Fixtures for tests that need real services: PostgreSQL, Redis (system or embedded).

Import them into a package's conftest with ``from tests.service_fixtures import *``.
A missing service skips the test and says why, unless OCCLAB_REQUIRE_SERVICES is set (as
.ci/run does), which turns that skip into a failure so CI always exercises them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.cli.embedded import start_redis, stop
from shared.config import Settings, load_settings
from shared.db import Base, get_engine

PG_ADMIN_URL = os.environ.get(
    "OCCLAB_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SYSTEM_REDIS_URL = os.environ.get("OCCLAB_TEST_REDIS", "redis://127.0.0.1:6379/0")

__all__ = [
    "create_database",
    "database_url",
    "drop_database",
    "embedded_redis_url",
    "migrate",
    "postgres_url",
    "redis_url",
    "require",
    "service_env",
    "service_settings",
    "sqlite_url",
    "system_redis_url",
]


def require(reason: str) -> None:
    """Skip with ``reason``, or fail when CI demands every service-backed test to run."""
    if os.environ.get("OCCLAB_REQUIRE_SERVICES"):
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def migrate(url: str) -> None:
    """Bring a database to the current schema, through Alembic when migrations exist."""
    root = Path(__file__).resolve().parents[1]
    if (root / "migrations" / "env.py").is_file():
        from alembic import command
        from alembic.config import Config

        cfg = Config(str(root / "alembic.ini"))
        cfg.set_main_option("script_location", str(root / "migrations"))
        cfg.set_main_option("sqlalchemy.url", url)
        command.upgrade(cfg, "head")
    else:
        import shared.models  # noqa: F401  - registers the tables

        Base.metadata.create_all(get_engine(url))


def create_database(prefix: str = "occlab_test") -> str:
    """A fresh, empty PostgreSQL database on the admin server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by :func:`create_database`, closing this process's connections."""
    get_engine(url).dispose()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Proves PostgreSQL is reachable (else skip, or fail under CI) with an empty database
    for this test session, dropped afterwards."""
    try:
        url = create_database()
    except Exception as exc:
        require(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}")
    yield url
    drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'occlab.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite in a temp folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'occlab.db'}"
    else:
        request.getfixturevalue("postgres_url")  # skip (or fail) here if PostgreSQL is down
        url = create_database("occlab_t")
        request.addfinalizer(lambda: drop_database(url))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def system_redis_url() -> str:
    try:
        redis.Redis.from_url(SYSTEM_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        require(f"Redis not reachable at {SYSTEM_REDIS_URL}: {exc}")
    return SYSTEM_REDIS_URL


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(proc)


@pytest.fixture(params=["system", "embedded"])
def redis_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_redis_url"))


@pytest.fixture
def service_env(tmp_path: Path, database_url: str, system_redis_url: str) -> dict[str, str]:
    """Environment for a migrated database and the system Redis, with queues of its own so
    concurrent test runs never take each other's tasks; pass it to worker subprocesses."""
    tag = uuid.uuid4().hex[:8]
    return {
        "OCCLAB_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": system_redis_url,
        "SECRET_KEY": "test-secret",
        "OCCLAB_QUEUE": f"occlab-test-{tag}",
        "OCCLAB_GPU_QUEUE": f"occlab-gpu-test-{tag}",
    }


@pytest.fixture
def service_settings(service_env: dict[str, str]) -> Settings:
    return load_settings(service_env)
