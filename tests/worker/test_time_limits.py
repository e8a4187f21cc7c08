"""A hung chunk is stopped before Redis would hand it out again, and its results go back."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from shared.config import Settings, load_settings
from shared.engine import Model
from tests.worker import support
from tests.worker.support import PAPERS, job_of, make_team, run, store_job, stored_results
from worker.app import create_celery_app
from worker.processing import TIMED_OUT


@pytest.mark.parametrize(("timeout", "soft", "hard"), [(3600, 2880, 3240), (5, 4, 4.5)])
def test_the_time_limits_stop_a_chunk_before_its_redelivery(
    timeout: int, soft: float, hard: float
) -> None:
    conf = create_celery_app(load_settings({"OCCLAB_VISIBILITY_TIMEOUT": str(timeout)})).conf
    assert conf.broker_transport_options["visibility_timeout"] == timeout
    assert conf.task_soft_time_limit == pytest.approx(soft)
    assert conf.task_time_limit == pytest.approx(hard)


class OutOfTime(Model):
    """The default model, as if the task's soft time limit struck while it split a paper."""

    def __init__(self, model: Model) -> None:
        super().__init__(model.classifier, model.vectors, model.manifest, model.device)
        self.calls = 0

    def split(self, paper: Mapping[str, object], units: Mapping[str, str]) -> Any:
        self.calls += 1
        raise SoftTimeLimitExceeded()


def test_a_chunk_out_of_time_puts_its_results_back_until_out_of_attempts(
    settings: Settings, engine_model: Model
) -> None:
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    model = OutOfTime(engine_model)
    for attempt in range(1, settings.max_attempts + 1):
        with pytest.raises(SoftTimeLimitExceeded):
            run(settings, todo, lambda _: model)
        assert model.calls == attempt  # the batch only: no paper is then tried alone
        status = "pending" if attempt < settings.max_attempts else "failed"
        stored = [(r["status"], r["attempts"], r["error"]) for r in stored_results(
            settings.database_url, job_id)]  # fmt: skip
        assert stored == [(status, attempt, TIMED_OUT)] * 2
    again = run(settings, todo, lambda _: model)  # the task's retry: nothing left
    assert (again.skipped, model.calls) == (todo, settings.max_attempts)
    assert job_of(settings, job_id).status == "failed"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_real_worker_stops_a_hung_chunk_and_fails_it_after_its_attempts(
    database_url: str, service_env: dict[str, str], tmp_path: Path, default_model_dir: Path
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for path in default_model_dir.iterdir():
        (model_dir / path.name).symlink_to(path.resolve())
    manifest = model_dir / "manifest.json"
    manifest.unlink()
    # A version of its own: registered from this directory, not found as the shipped default.
    data = json.loads((default_model_dir / "manifest.json").read_text())
    manifest.write_text(json.dumps({**data, "version": "hangs"}))
    env = {
        **service_env,
        "OCCLAB_MODEL_DIR": str(model_dir),
        "OCCLAB_VISIBILITY_TIMEOUT": "5",
        "OCCLAB_RETRY_BACKOFF": "0.5",
    }
    settings = load_settings(env)
    job_id = support.submit(settings, make_team(database_url), PAPERS[:2])  # registers it
    # The worker then checks the model's manifest, which now never ends: reading it hangs.
    manifest.unlink()
    os.mkfifo(manifest)
    log = tmp_path / "worker.log"
    worker = support.start_worker(support.worker_env(env), log)
    try:
        job = support.wait_finished(database_url, job_id, 120, log)
    finally:
        support.stop_worker(worker)
    assert job.status == "failed", log.read_text()[-3000:]
    stored = [
        (r["status"], r["attempts"], r["error"]) for r in stored_results(database_url, job_id)
    ]
    assert stored == [("failed", settings.max_attempts, TIMED_OUT)] * 2
    assert "SoftTimeLimitExceeded" in log.read_text()
