"""Helpers for the worker tests: real worker processes, submissions and bounded waits."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from shared.config import Settings, load_settings
from shared.db import session_factory, session_scope, utcnow
from shared.engine import Model
from shared.jobs.dispatch import make_celery, send_job
from shared.jobs.submit import Submission, create_job
from shared.models import GridCell, Job, JobItem, LooUnit, Result, Team
from tests.conftest import TOY_ABSTRACT, TOY_TITLE
from worker.outcome import ChunkOutcome
from worker.processing import process_chunk

REPO = Path(__file__).resolve().parents[2]
# No mingle/gossip/heartbeat: other test runs share the system Redis, and a test worker
# must neither wait for nor talk to their workers.
QUIET = ("--without-mingle", "--without-gossip", "--without-heartbeat")


def worker_env(env: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The subprocess environment: the test's services, this checkout, one thread per child."""
    return {
        **os.environ,
        **env,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **extra,
    }


def start_worker(
    env: Mapping[str, str], log: Path, concurrency: int = 1, cli: bool = False
) -> subprocess.Popen[bytes]:
    """A real worker in its own process group (so the test can kill children and all)."""
    queues = load_settings(env)
    settings_queues = f"{queues.detail_queue},{queues.task_queue},{queues.gpu_queue}"
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    if cli:  # through `occlab worker`, the entry point operators use
        args = ["-m", "shared.cli", "worker", "-c", str(concurrency), "-n", name, *QUIET]
    else:
        args = ["-m", "celery", "-A", "worker.app:celery_app", "worker", "--pool", "prefork"]
        args += ["-c", str(concurrency), "-Q", settings_queues, "-n", name, "-l", "INFO", *QUIET]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the worker's whole process group (main process and pool children)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), SIGKILL if it lingers; also reaps orphaned pool children."""
    kill_group(proc, signal.SIGTERM)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def make_team(url: str, name: str = "team") -> int:
    with session_scope(url) as session:
        team = Team(name=f"{name}-{uuid.uuid4().hex[:6]}")
        session.add(team)
        session.flush()
        return team.id


def submit(settings: Settings, team_id: int, papers: Sequence[Mapping[str, str]]) -> int:
    """The API's path: create the job, commit, then send its chunks by task name."""
    session = session_factory(settings.database_url)()
    app = make_celery(settings)
    try:
        job, todo = create_job(session, settings, Submission(team_id, None, list(papers)))
        session.commit()
        send_job(app, settings, session, job, todo)
        session.commit()
        return job.id
    finally:
        session.close()
        app.close()


def job_row(url: str, job_id: int) -> Job:
    with session_scope(url) as session:
        return session.get_one(Job, job_id)


def wait_for(
    check: Callable[[], bool], timeout_s: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail}")


def wait_finished(url: str, job_id: int, timeout_s: float, log: Path | None = None) -> Job:
    finished = ("done", "failed", "cancelled")
    wait_for(lambda: job_row(url, job_id).status in finished, timeout_s, f"job {job_id}", log)
    return job_row(url, job_id)


def stored_results(url: str, job_id: int) -> list[dict[str, Any]]:
    """Per job item, in submission order: status, paper text, cells and leave-one-out count."""
    with session_scope(url) as session:
        items = session.scalars(
            select(JobItem).where(JobItem.job_id == job_id).order_by(JobItem.position)
        ).all()
        out = []
        for item in items:
            r = item.result
            cells = session.execute(
                select(GridCell.title_len, GridCell.abstract_len, GridCell.probability).where(
                    GridCell.result_id == r.id
                )
            ).all()
            loo = session.scalar(select(func.count()).where(LooUnit.result_id == r.id))
            out.append(
                {
                    "id": r.id,
                    "status": r.status,
                    "error": r.error,
                    "attempts": r.attempts,
                    "title": r.paper.title,
                    "abstract": r.paper.abstract,
                    "cells": {(t, a): p for t, a, p in cells},
                    "loo": loo,
                }
            )
        return out


def count_rows(url: str, model: Any) -> int:
    with session_scope(url) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def statuses(url: str, job_id: int) -> dict[int, str]:
    """Result id -> status, for the job's results."""
    with session_scope(url) as session:
        query = (
            select(Result.id, Result.status)
            .join(JobItem, Result.id == JobItem.result_id)
            .where(JobItem.job_id == job_id)
        )
        return {i: status for i, status in session.execute(query).all()}


def read_papers(path: Path, limit: int, seed: int) -> list[dict[str, str]]:
    from shared.engine.dataset import read_labelled_csv

    return [
        {"title": p.title, "abstract": p.abstract} for p in read_labelled_csv(path, limit, seed)
    ]


# Chunks processed in this process (tests/worker/test_chunks.py and the tests built on it).
PAPERS = [
    {"title": TOY_TITLE, "abstract": TOY_ABSTRACT},
    {"title": "Deep learning for text", "abstract": "We study words. It works."},
    {"title": "Social history of science", "abstract": "We read archives. Society changed."},
]


class Poisoned(Model):
    """The default model, except that one paper makes it raise (as a bad input would)."""

    def __init__(self, model: Model, bad_title: str) -> None:
        super().__init__(model.classifier, model.vectors, model.manifest, model.device)
        self.bad_title = bad_title

    def split(self, paper: Mapping[str, object], units: Mapping[str, str]) -> Any:
        if paper.get("title") == self.bad_title:
            raise RuntimeError("poisoned paper")
        return super().split(paper, units)


def store_job(
    settings: Settings,
    team_id: int,
    papers: Sequence[Mapping[str, str]],
    sent: bool = False,
    detail: str = "bulk",
) -> tuple[int, list[int]]:
    """A job created and committed as a submission would, with nothing in the queue: (id,
    todo). ``sent`` marks it published (its message since taken or lost)."""
    sub = Submission(team_id, None, list(papers), detail=detail)
    with session_scope(settings.database_url) as session:
        job, todo = create_job(session, settings, sub)
        job.sent_at = utcnow() if sent else None
        session.flush()
        return job.id, todo


def run(settings: Settings, ids: Sequence[int], loader: Any, backoff: float = 2.0) -> ChunkOutcome:
    """``process_chunk`` called directly, as the task calls it."""
    sessions = session_factory(settings.database_url)
    return process_chunk(sessions, ids, settings.max_attempts, backoff, loader)


def job_of(settings: Settings, job_id: int) -> Job:
    with session_scope(settings.database_url) as session:
        return session.get_one(Job, job_id)
