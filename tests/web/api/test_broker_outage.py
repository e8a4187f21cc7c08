"""A hung broker at submit: the API answers 503 with the saved job within a few seconds, the
job waits unsent (not failed), and once the broker is back a resubmission of the same papers
or ``occlab requeue`` sends it and a real worker computes every paper once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.cli import main
from shared.config import Settings
from shared.models import LIVE, Job, Result
from tests.fixtures.services import PrivateRedis
from tests.worker.support import start_worker, stop_worker, wait_finished, worker_env

PAPERS = [
    {"title": "Deep learning for text", "abstract": "We study words. It works."},
    {"title": "Social history of science", "abstract": "We read archives. Society changed."},
]
PUBLISH_TIMEOUT_S = 3.0


@pytest.fixture
def env(service_env: dict[str, str], private_redis: PrivateRedis) -> dict[str, str]:
    """The services, with a broker of this test's own that it may hang."""
    return {
        **service_env,
        "REDIS_URL": private_redis.url,
        "OCCLAB_PUBLISH_TIMEOUT": str(PUBLISH_TIMEOUT_S),
    }


@pytest.fixture
def settings(service_settings: Settings, default_model_dir: Path, env: dict[str, str]) -> Settings:
    return service_settings.with_overrides(
        model_dir=default_model_dir, redis_url=env["REDIS_URL"], publish_timeout_s=PUBLISH_TIMEOUT_S
    )


def post_papers(client: FlaskClient, auth: dict[str, str]) -> tuple[int, dict, float]:
    start = time.monotonic()
    response = client.post("/api/v1/jobs", headers=auth, json={"papers": PAPERS})
    return response.status_code, dict(response.json or {}), time.monotonic() - start


def recover_by(
    how: str, client: FlaskClient, auth: dict[str, str], env: dict[str, str], monkeypatch
) -> int | None:
    """Send the unsent job the way ``how`` says; the new job's id for a resubmission."""
    if how == "resubmit":
        status, body, _ = post_papers(client, auth)
        assert status == 202, body
        return int(body["id"])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(main, ["requeue"])
    assert done.exit_code == 0, done.output
    assert "requeued 2 result(s) of 1 job(s)" in done.output
    return None


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("how", ["resubmit", "requeue"])
def test_a_hung_broker_answers_503_and_the_job_runs_once_it_is_back(
    how: str,
    client: FlaskClient,
    auth: dict[str, str],
    private_redis: PrivateRedis,
    env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private_redis.hang()
    # Resumed by a timer too, so that a publish that never gives up fails the test (202).
    timer = threading.Timer(3 * PUBLISH_TIMEOUT_S, private_redis.resume)
    timer.start()
    try:
        status, body, took = post_papers(client, auth)
    finally:
        timer.cancel()
        private_redis.resume()
    assert status == 503 and took < 2.5 * PUBLISH_TIMEOUT_S, (status, took)
    assert "unreachable" in body["error"]
    job_id = body["job"]["id"]
    assert body["job"]["url"].endswith(f"/jobs/{job_id}")
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.sent_at) == ("queued", None)
        assert set(session.scalars(select(Result.status))) == {"pending"}
    again = recover_by(how, client, auth, env, monkeypatch)
    broker = redis.Redis.from_url(private_redis.url)
    assert broker.llen(settings.task_queue) == 1  # one chunk of both papers, sent now
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(env), log)
    try:
        for finished in filter(None, (job_id, again)):
            job = wait_finished(settings.database_url, finished, 60, log)
            assert (job.status, job.done, job.failed) == ("done", 2, 0)
    finally:
        stop_worker(worker)
    with sessions() as session:
        computed = session.execute(select(Result.status, Result.attempts)).all()
        assert sorted(computed) == [("done", 1), ("done", 1)]  # one result each, computed once
        # No job is left waiting to be sent (one whose papers a resubmission computed may
        # finish unsent: its results were sent under the new job).
        unsent = select(func.count()).where(Job.sent_at.is_(None), Job.status.in_(LIVE))
        assert session.scalar(unsent) == 0
