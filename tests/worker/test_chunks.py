"""``worker.processing.process_chunk`` called directly, as the task calls it: failure and
retry, idempotency, cancelled jobs, reuse of a team's earlier results, a worker that died."""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import time
from pathlib import Path

from sqlalchemy import select, text

from shared.config import Settings
from shared.db import session_factory, session_scope
from shared.engine import Model
from shared.jobs.status import cancel_job, refresh_jobs
from shared.models import GridCell, Job, LooUnit, RegisteredModel, Result
from shared.registry.catalog import register_model
from tests.worker.support import (
    PAPERS,
    Poisoned,
    count_rows,
    job_of,
    make_team,
    run,
    store_job,
    stored_results,
)
from worker.processing import model_for


def test_a_failing_paper_is_retried_alone_then_failed(settings: Settings, engine_model: Model):
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS)
    poisoned = Poisoned(engine_model, PAPERS[1]["title"])
    first = run(settings, todo, lambda _: poisoned)
    assert (first.done, first.retry, first.retry_in_s) == ([todo[0], todo[2]], [todo[1]], 2.0)
    assert job_of(settings, job_id).status == "running"
    second = run(settings, first.retry, lambda _: poisoned)
    assert (second.retry, second.retry_in_s) == ([todo[1]], 4.0)  # exponential backoff
    third = run(settings, second.retry, lambda _: poisoned)
    assert (third.failed, third.retry) == ([todo[1]], [])
    job = job_of(settings, job_id)
    assert (job.status, job.done, job.failed, job.total) == ("done", 2, 1, 3)
    _, bad, _ = stored_results(settings.database_url, job_id)
    assert (bad["status"], bad["attempts"], bad["cells"], bad["loo"]) == ("failed", 3, {}, 0)
    assert bad["error"] == "RuntimeError: poisoned paper"


def test_a_job_whose_papers_all_fail_is_failed(settings: Settings):
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])

    def broken(_: RegisteredModel) -> Model:
        raise RuntimeError("model files changed")

    for _ in range(settings.max_attempts):
        outcome = run(settings, todo, broken)
    assert outcome.failed == todo
    job = job_of(settings, job_id)
    assert (job.status, job.failed, job.done) == ("failed", 2, 0)


def test_computing_a_chunk_twice_adds_no_rows(settings: Settings, engine_model: Model):
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS)
    first = run(settings, todo, lambda _: engine_model)
    cells, loo = (
        count_rows(settings.database_url, GridCell),
        count_rows(settings.database_url, LooUnit),
    )
    again = run(settings, todo, lambda _: engine_model)
    assert (first.done, again.done, again.skipped) == (todo, [], todo)
    assert count_rows(settings.database_url, GridCell) == cells > 0
    assert count_rows(settings.database_url, LooUnit) == loo > 0


def test_a_cancelled_jobs_chunk_does_nothing(settings: Settings):
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS)
    with session_scope(settings.database_url) as session:
        assert cancel_job(session, session.get_one(Job, job_id))

    def unused(_: RegisteredModel) -> Model:
        raise AssertionError("a cancelled job's chunk must not load the model")

    outcome = run(settings, todo, unused)
    assert (outcome.skipped, outcome.done) == (todo, [])
    assert {r["status"] for r in stored_results(settings.database_url, job_id)} == {"cancelled"}
    assert count_rows(settings.database_url, GridCell) == 0
    assert job_of(settings, job_id).status == "cancelled"


def test_the_same_paper_again_reuses_its_result(settings: Settings, engine_model: Model):
    team = make_team(settings.database_url)
    _, todo = store_job(settings, team, PAPERS[:1])
    run(settings, todo, lambda _: engine_model)
    with session_scope(settings.database_url) as session:
        before = session.execute(select(Result.id, Result.compute_ms)).all()
    second_id, again = store_job(settings, team, PAPERS[:1])
    assert again == []  # nothing to compute, so nothing is enqueued
    job = job_of(settings, second_id)
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    with session_scope(settings.database_url) as session:
        assert session.execute(select(Result.id, Result.compute_ms)).all() == before


def test_a_queued_result_is_shared_and_finishes_both_jobs(settings: Settings, engine_model: Model):
    team = make_team(settings.database_url)
    first_id, todo = store_job(settings, team, PAPERS[1:2], sent=True)
    second_id, again = store_job(settings, team, PAPERS[1:2])  # before the first is computed
    assert again == [] and job_of(settings, second_id).status == "queued"
    run(settings, todo, lambda _: engine_model)
    assert job_of(settings, first_id).status == job_of(settings, second_id).status == "done"


def test_a_result_whose_worker_died_every_time_is_failed(settings: Settings):
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    with session_scope(settings.database_url) as session:  # as left by three killed workers
        result = session.get_one(Result, todo[0])
        result.status, result.attempts = "running", settings.max_attempts

    def unused(_: RegisteredModel) -> Model:
        raise AssertionError("a paper that kills its worker must not be tried again")

    outcome = run(settings, todo, unused)
    assert outcome.failed == todo
    [stored] = stored_results(settings.database_url, job_id)
    assert stored["status"] == "failed" and "gave up after 3 attempts" in stored["error"]
    assert job_of(settings, job_id).status == "failed"


def test_two_chunks_finishing_together_leave_the_job_done(settings: Settings):
    """The later refresh must count after the earlier one commits, or its stale count wins."""
    job_id, (first, second) = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    with session_scope(settings.database_url) as session:
        session.get_one(Result, first).status = "done"
        session.get_one(Result, second).status = "running"
    slow = session_factory(settings.database_url)()
    refresh_jobs(slow, [job_id])  # counts 1 of 2 done; commits only after the other chunk

    started = threading.Event()

    def other_chunk() -> None:
        started.set()  # SQLite blocks on the first write, PostgreSQL on refresh's job lock
        with session_scope(settings.database_url) as session:
            session.get_one(Result, second).status = "done"
        with session_scope(settings.database_url) as session:
            refresh_jobs(session, [job_id])

    thread = threading.Thread(target=other_chunk)
    thread.start()
    assert started.wait(10)
    assert_blocked(settings.database_url, thread)  # fails if refresh_jobs takes no lock
    slow.commit()
    slow.close()
    thread.join(30)
    job = job_of(settings, job_id)
    assert (job.status, job.done) == ("done", 2)


def assert_blocked(url: str, thread: threading.Thread, timeout_s: float = 10) -> None:
    """The thread is waiting on a lock: PostgreSQL lists the wait; SQLite's busy wait shows
    only as a thread that has not finished (its writes take well under a second)."""
    if not url.startswith("postgresql"):
        thread.join(1.0)
        assert thread.is_alive(), "the other chunk was not blocked by the refresh's lock"
        return
    waiting = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = current_database()"
    )
    deadline = time.monotonic() + timeout_s
    with session_scope(url) as session:
        while not session.execute(waiting).scalar():
            assert thread.is_alive(), "the other chunk finished without waiting for the lock"
            assert time.monotonic() < deadline, "the other chunk never waited for the lock"
            time.sleep(0.02)
            session.rollback()  # a fresh snapshot of pg_locks each time


def test_a_placeholder_abstract_is_left_out_and_the_paper_scored_without_it(
    settings: Settings, engine_model: Model
) -> None:
    paper = {"title": "Social media use in schools", "abstract": "[No abstract available]"}
    job_id, todo = store_job(settings, make_team(settings.database_url), [paper])
    assert run(settings, todo, lambda _: engine_model).done == todo
    with session_scope(settings.database_url) as session:
        result = session.get_one(Result, todo[0])
        left_out = result.units["abstract"]["left_out"]
        probability = result.probability
    assert left_out == [{"rule": "placeholder", "text": "[No abstract available]"}]
    title = engine_model.split(paper, {"title": "word", "abstract": "sentence"})[0].tokens
    alone = engine_model.predict_batch([{"title": title, "abstract": []}])[0]
    assert abs(probability - float(alone)) < 1e-6
    assert [len(r["cells"]) for r in stored_results(settings.database_url, job_id)] == [5]


def test_a_model_this_machine_lacks_is_fetched_into_the_tasks_cache(
    settings: Settings, second_model_dir: Path, tmp_path: Path
) -> None:
    """The cache is the one the task's settings name, not whatever the environment says."""
    copy = Path(shutil.copytree(second_model_dir, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())  # a version of its own: the
    manifest["version"] = secrets.token_hex(4)  # process keeps the models it loaded
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with session_scope(settings.database_url) as session:
        row = register_model(session, copy)
        session.commit()
        shutil.rmtree(copy)
        cache = tmp_path / "elsewhere"
        model = model_for(row, settings.with_overrides(model_cache=cache))
        assert model.version == row.version
    assert [p.name for p in cache.iterdir()] == [row.manifest_sha256]
