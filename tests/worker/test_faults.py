"""Recovery in seconds with the default visibility timeout (an hour), on real processes.

Each test breaks something a worker depends on while a chunk is being computed (its pool
child, the database) or races submissions, then expects every paper done within a minute
of recovery with exactly one result each: nothing waits for the hourly redelivery.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from shared.config import load_settings
from shared.models import Paper, Result
from tests.fixtures.private import PrivatePostgres
from tests.fixtures.services import migrate
from tests.worker.support import (
    count_rows,
    kill_group,
    make_team,
    read_papers,
    start_worker,
    statuses,
    stop_worker,
    submit,
    wait_finished,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.slow
RECOVERY_S = 60


def running_in(url: str, job_id: int) -> list[int]:
    return [i for i, status in statuses(url, job_id).items() if status == "running"]


def pool_child(worker: subprocess.Popen[bytes]) -> int:
    found = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
    [pid] = [int(p) for p in found.stdout.split()]
    return pid


def assert_all_done_once(url: str, job_ids: list[int], n_papers: int) -> None:
    for job_id in job_ids:
        assert set(statuses(url, job_id).values()) == {"done"}, job_id
    assert count_rows(url, Result) == count_rows(url, Paper) == n_papers


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_pool_child_s_chunk_is_finished_by_its_redelivery(
    database_url: str, service_env: dict[str, str], tmp_path: Path, data_path: Path
) -> None:
    """Celery hands the dead child's message straight back (same task id): that copy must
    take the results back, not skip them as another live worker's."""
    env = {**service_env, "OCCLAB_CHUNK_SIZE": "4"}
    papers = read_papers(data_path, 12, seed=11)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(env), log)
    try:
        job_id = submit(load_settings(env), make_team(database_url), papers)
        wait_for(lambda: bool(running_in(database_url, job_id)), 120, "a chunk running", log)
        in_flight = running_in(database_url, job_id)
        killed_at = time.monotonic()
        subprocess.run(["kill", "-9", str(pool_child(worker))], check=True)
        wait_finished(database_url, job_id, RECOVERY_S, log)
        took = time.monotonic() - killed_at
    finally:
        stop_worker(worker)
    assert_all_done_once(database_url, [job_id], len(papers))
    print(f"killed pool child: every paper done {took:.1f} s after the kill")
    assert took < RECOVERY_S and in_flight
    assert "skipped=4" not in log.read_text(errors="replace")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # unused: its own server
def test_a_30_second_database_outage_mid_chunk_is_recovered_within_a_minute(
    private_postgres: PrivatePostgres,
    service_env: dict[str, str],
    tmp_path: Path,
    data_path: Path,
) -> None:
    url = private_postgres.url
    migrate(url, tmp_path / "migrate")
    env = {**service_env, "DATABASE_URL": url, "OCCLAB_CHUNK_SIZE": "4"}
    papers = read_papers(data_path, 8, seed=12)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(env), log)
    try:
        job_id = submit(load_settings(env), make_team(url), papers)
        wait_for(lambda: bool(running_in(url, job_id)), 120, "a chunk running", log)
        private_postgres.stop()
        time.sleep(30)
        private_postgres.start()
        back_at = time.monotonic()
        wait_finished(url, job_id, RECOVERY_S + 10, log)
        took = time.monotonic() - back_at
    finally:
        kill_group(worker, signal.SIGKILL)
    assert_all_done_once(url, [job_id], len(papers))
    print(f"database outage: every paper done {took:.1f} s after it came back")
    assert took < RECOVERY_S, f"done {took:.0f} s after the database came back"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_eight_racing_submits_of_the_same_papers_all_finish_with_one_result_each(
    database_url: str, service_env: dict[str, str], tmp_path: Path, data_path: Path
) -> None:
    papers = read_papers(data_path, 5, seed=13)
    settings = load_settings(service_env)
    team = make_team(database_url)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(service_env), log)
    start = threading.Barrier(8)
    job_ids: list[int] = []

    def one_submit() -> None:
        start.wait()
        job_ids.append(submit(settings, team, papers))

    try:
        threads = [threading.Thread(target=one_submit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        began = time.monotonic()
        for job_id in job_ids:
            wait_finished(database_url, job_id, RECOVERY_S - (time.monotonic() - began), log)
    finally:
        stop_worker(worker)
    print(f"8 racing submits: every job done {time.monotonic() - began:.1f} s after the last")
    assert len(job_ids) == 8
    assert_all_done_once(database_url, job_ids, len(papers))
