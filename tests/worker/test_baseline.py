"""A finished job's random baseline, computed in this process as the task computes it: the
sample's AOPC of random rankings, equal to the engine's ``random_baseline`` over the same
papers in one call (the worker's chunks of 16 change nothing), stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.db import session_factory, session_scope
from shared.engine import Model
from shared.engine.faithfulness import random_baseline
from shared.jobs.status import refresh_jobs
from shared.models import Job
from shared.results.baseline import KEPT, sample
from tests.worker.support import make_team, read_papers, run, store_job
from worker import baseline as task

pytestmark = pytest.mark.slow


def test_the_baseline_of_a_sample_is_stored_once(
    settings, engine_model: Model, data_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers = read_papers(data_path, 7, seed=3)
    job_id, todo = store_job(settings, make_team(settings.database_url), papers)
    assert run(settings, todo, lambda _: engine_model).done == todo
    with session_scope(settings.database_url) as session:
        refresh_jobs(session, [job_id])
    monkeypatch.setattr(task, "CHUNK", 3)  # the sample in three chunks
    sessions = session_factory(settings.database_url)
    assert task.compute_baseline(sessions, job_id) == "done"
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert job.status == "done" and sample(session, job_id, 5) == sorted(
            sample(session, job_id, 5)
        )
        stored = job.baseline
    units = {"title": "word", "abstract": "sentence"}
    whole = random_baseline(engine_model, papers, units)
    assert stored is not None and stored["papers"] == 7 and stored["seeds"] == 10
    for key in KEPT[2:]:
        assert abs(stored[key] - whole[key]) < 1e-6, key
    assert task.compute_baseline(sessions, job_id) == "skipped"
