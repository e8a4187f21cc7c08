"""Web tests: a migrated database (SQLite and PostgreSQL), the system Redis with queues and
cache keys of this test's own, the default model, and an app with a test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import authenticate_token, create_token, create_user
from shared.config import Settings
from shared.db import session_factory
from shared.jobs.registry import register_model
from shared.models import GridCell, Job, JobItem, LooUnit, Paper, Result
from tests.service_fixtures import *  # noqa: F403  - database_url, service_settings, ...
from web.app import create_app
from web.extensions import cache, celery

COUNTED = (Paper, Job, JobItem, Result)


@pytest.fixture
def settings(service_settings: Settings, default_model_dir: Path) -> Settings:
    return service_settings.with_overrides(model_dir=default_model_dir)


@pytest.fixture
def redis_client(system_redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(system_redis_url)
    yield client
    client.close()


@pytest.fixture
def make_app(settings: Settings, redis_client: redis.Redis) -> Iterator[Callable[..., Flask]]:
    """Build apps (``make_app(SETTINGS=...)`` overrides); their queues and cache are emptied
    and their connections closed afterwards."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app({"TESTING": True, "SETTINGS": settings, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            views = cache.views
            for key in redis_client.scan_iter(f"occlab:{views.namespace}:*"):
                redis_client.delete(key)
            views.close()
            celery.app.close()
    redis_client.delete(settings.task_queue, settings.gpu_queue)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sessions(settings: Settings) -> sessionmaker[Session]:
    return session_factory(settings.database_url)


def _member(sessions: sessionmaker[Session], email: str, team: str) -> tuple[str, int]:
    with sessions.begin() as session:
        user = create_user(session, email, "correct horse battery", team)
        row, plain = create_token(session, user)
        return plain, row.team_id


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    return _member(sessions, "ada@example.org", "Alpha")[0]


@pytest.fixture
def other_token(sessions: sessionmaker[Session]) -> str:
    return _member(sessions, "bob@example.org", "Beta")[0]


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def counts(sessions: sessionmaker[Session]) -> Callable[[], dict[str, int]]:
    """Rows in each table a submission writes, to show a rejected one stored nothing."""

    def count() -> dict[str, int]:
        with sessions() as session:
            return {
                m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
                for m in COUNTED
            }

    return count


# A finished result, written as a worker would (worker.processing.store_explanation).
GRID = [[0.1, 0.4, 0.55], [0.2, 0.6, 0.9]]
UNITS = {
    "title": {"unit": "word", "units": [["social"], ["media"]], "labels": ["Social", "media"]},
    "abstract": {
        "unit": "sentence",
        "units": [["we", "study", "it"], ["it", "matters"], ["trees"]],
        "labels": ["We study it.", "It matters.", "Trees."],
    },
}
LOO = {"title": [0.25, -0.125], "abstract": [0.5, 0.0625, -0.03125]}
ACTIVATIONS = {"bias": 0.5, "top_features": [], "fields": {}}


@pytest.fixture
def seed_result(sessions: sessionmaker[Session], settings: Settings) -> Callable[..., int]:
    """``seed_result(team_id, status="done")``: a result's rows inserted directly; its id."""

    def seed(team_id: int, status: str = "done", title: str = "Social media") -> int:
        with sessions.begin() as session:
            model = register_model(session, settings.model_dir or Path())
            paper = Paper(team_id=team_id, title=title, abstract="We study it. It matters. Trees.",
                          external_id="doi:10/1", content_hash=title)  # fmt: skip
            session.add(paper)
            session.flush()
            result = Result(team_id=team_id, paper_id=paper.id, model_id=model.id,
                            title_unit="word", abstract_unit="sentence", status=status)  # fmt: skip
            session.add(result)
            session.flush()
            if status == "done":
                _fill(session, result)
            return result.id

    return seed


def _fill(session: Session, result: Result) -> None:
    result.probability = GRID[-1][-1]
    result.units = UNITS
    result.skipped = {"title": [], "abstract": ["trees"]}
    result.activations = ACTIVATIONS
    session.add_all(
        GridCell(result_id=result.id, title_len=i + 1, abstract_len=j + 1, probability=p)
        for i, row in enumerate(GRID)
        for j, p in enumerate(row)
    )
    session.add_all(
        LooUnit(result_id=result.id, field=f, unit_index=u, delta=d)
        for f, deltas in LOO.items()
        for u, d in enumerate(deltas)
    )


@pytest.fixture
def team_id(sessions: sessionmaker[Session], token: str) -> int:
    with sessions() as session:
        row = authenticate_token(session, token)
        assert row is not None
        return row.team_id
