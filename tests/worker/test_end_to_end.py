"""Real worker processes on real services: submission to stored cells, a killed worker, retries.

Each test starts its own workers (subprocesses, never eager mode) on queues of its own, waits
for SQL to say the job finished (with a deadline), and kills its workers in a ``finally``.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from shared.config import load_settings
from shared.db import session_scope
from shared.engine import occlusion_grid
from shared.jobs.submit import Submission, create_job
from shared.models import GridCell, LooUnit, Paper, Result
from tests.worker.support import (
    count_rows,
    kill_group,
    make_team,
    read_papers,
    start_worker,
    statuses,
    stop_worker,
    stored_results,
    submit,
    wait_finished,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.slow


def assert_matches_engine(model: Any, results: list[dict[str, Any]]) -> int:
    """Each result's cells equal the engine's grid; T x S cells, T + S leave-one-out rows.

    Returns the number of cells all results should have, for checking totals."""
    expected_cells = 0
    for r in results:
        assert r["status"] == "done", r
        grid = occlusion_grid(model, r["title"], r["abstract"])
        t, s = grid.probabilities.shape
        assert len(r["cells"]) == t * s
        assert r["loo"] == t + s
        worst = max(
            abs(r["cells"][(i + 1, j + 1)] - float(grid.probabilities[i, j]))
            for i in range(t)
            for j in range(s)
        )
        assert worst <= 1e-5, f"result {r['id']}: cells differ from the engine by {worst:.2e}"
        expected_cells += t * s
    return expected_cells


def env_for(service_env: dict[str, str], request: pytest.FixtureRequest, broker: str) -> dict:
    env = dict(service_env)
    if broker == "embedded":
        env["REDIS_URL"] = request.getfixturevalue("embedded_redis_url")
    return env


@pytest.mark.parametrize(
    ("database_url", "broker"),
    [("postgresql", "system"), ("sqlite", "embedded")],
    indirect=["database_url"],
)
def test_fifty_papers_are_computed_and_stored_exactly(
    database_url: str,
    broker: str,
    service_env: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    data_path: Path,
    engine_model: Any,
) -> None:
    env = env_for(service_env, request, broker)
    settings = load_settings(env)
    papers = read_papers(data_path, 50, seed=2024)
    log = tmp_path / "worker.log"
    # Two pool children: each must drop inherited connections and load its own model.
    worker = start_worker(worker_env(env), log, concurrency=2, cli=broker == "embedded")
    try:
        job_id = submit(settings, make_team(database_url), papers)
        job = wait_finished(database_url, job_id, 300, log)
    finally:
        stop_worker(worker)
    assert (job.status, job.done, job.failed, job.total) == ("done", 50, 0, 50)
    results = stored_results(database_url, job_id)
    assert [(r["title"], r["abstract"]) for r in results] == [
        (p["title"], p["abstract"]) for p in papers
    ]
    cells = assert_matches_engine(engine_model, results)
    assert count_rows(database_url, GridCell) == cells
    assert count_rows(database_url, LooUnit) == sum(r["loo"] for r in results)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_worker_loses_nothing_and_duplicates_nothing(
    database_url: str,
    service_env: dict[str, str],
    tmp_path: Path,
    data_path: Path,
    engine_model: Any,
) -> None:
    # Small chunks so several are queued. The dead worker's unacknowledged chunk stays with
    # Redis for the (hour-long) visibility timeout; its claims stop beating, so the next
    # worker's reaper sends them again once they are OCCLAB_LOST_AFTER old (seconds here).
    env = {
        **service_env,
        "OCCLAB_CHUNK_SIZE": "4",
        "OCCLAB_HEARTBEAT": "1",
        "OCCLAB_LOST_AFTER": "5",
        "OCCLAB_REAP_INTERVAL": "2",
    }
    settings = load_settings(env)
    papers = read_papers(data_path, 24, seed=7)
    log = tmp_path / "worker.log"
    first = start_worker(worker_env(env), log)
    second = None
    try:
        job_id = submit(settings, make_team(database_url), papers)

        def mid_job() -> bool:  # some results stored, and a chunk being computed
            now = statuses(database_url, job_id).values()
            return "done" in now and "running" in now

        wait_for(mid_job, 120, "a chunk in progress after a first result", log)
        kill_group(first, signal.SIGKILL)  # main process and pool child: no warm shutdown
        at_kill = statuses(database_url, job_id)
        in_flight = [i for i, status in at_kill.items() if status == "running"]
        assert in_flight and len(at_kill) == len(papers), at_kill
        second = start_worker(worker_env(env), log)
        job = wait_finished(database_url, job_id, 180, log)
    finally:
        kill_group(first)
        if second is not None:
            stop_worker(second)
    assert (job.status, job.done, job.total) == ("done", len(papers), len(papers))
    results = stored_results(database_url, job_id)
    assert count_rows(database_url, Result) == count_rows(database_url, Paper) == len(papers)
    cells = assert_matches_engine(engine_model, results)
    assert count_rows(database_url, GridCell) == cells
    # The chunk that died with the worker was handed to the next one and computed again.
    assert all(r["attempts"] == 2 for r in results if r["id"] in in_flight)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_the_failing_paper_is_retried_then_failed(
    database_url: str,
    service_env: dict[str, str],
    embedded_redis_url: str,
    tmp_path: Path,
) -> None:
    env = {**service_env, "REDIS_URL": embedded_redis_url}
    settings = load_settings(env)
    log = tmp_path / "worker.log"
    papers = [
        {"title": "Deep learning for text", "abstract": "We study words. It works."},
        {"title": "Social history of science", "abstract": "We read archives. Society changed."},
    ]
    job_id = submit(settings, make_team(database_url), papers)
    # Emptied after submission (which would refuse it), so the engine raises in the worker.
    with session_scope(database_url) as session:
        session.execute(update(Paper).where(Paper.title == papers[1]["title"]).values(title=""))
    worker = start_worker(worker_env(env), log)
    try:
        job = wait_finished(database_url, job_id, 60, log)
    finally:
        stop_worker(worker)
    good, bad = stored_results(database_url, job_id)
    assert (job.status, job.done, job.failed) == ("done", 1, 1)
    assert (good["status"], good["attempts"]) == ("done", 1)  # never computed again
    assert (bad["status"], bad["attempts"]) == ("failed", settings.max_attempts)
    assert "title is empty" in bad["error"] and not bad["cells"]
    # The retries (after 2 s, then 4 s) were chunks of the failing paper alone.
    assert log.read_text().count("chunk of 1:") == settings.max_attempts - 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_orphaned_result_is_requeued_and_finished_by_a_worker(
    database_url: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    # The web committed the job and died before sending it (sent_at stays NULL): only the
    # workers' reaper, which looks every OCCLAB_REAP_INTERVAL, can find it.
    env = {**service_env, "OCCLAB_REAP_INTERVAL": "1", "OCCLAB_PUBLISH_TIMEOUT": "1"}
    settings = load_settings(env)
    papers = [{"title": "Deep learning for text", "abstract": "We study words. It works."}]
    sub = Submission(make_team(database_url), None, papers)
    with session_scope(database_url) as session:
        job_id = create_job(session, settings, sub)[0].id
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(env), log)
    try:
        job = wait_finished(database_url, job_id, 120, log)
    finally:
        stop_worker(worker)
    assert (job.status, job.done) == ("done", 1)
    assert "1 result(s) no task would compute sent" in log.read_text()
