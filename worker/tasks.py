"""Celery tasks: thin wrappers that call plain functions of ``shared`` (tests call those too).

``process_chunk(job_id, result_ids)`` computes a chunk with
:func:`worker.processing.process_chunk`; papers that failed but have attempts left are sent
again as a new, smaller chunk of just their ids, after the backoff the outcome asks for.
``ingest_job(job_id)`` reads a large submission's stored file into its job in batches
(:func:`shared.jobs.ingest.ingest`), sending each batch's chunks as it commits.
``compute_baseline(job_id)`` stores a finished job's random baseline of faithfulness
(:func:`worker.baseline.compute_baseline`) when its corpus view is first opened.
``compute_traces(result_id)`` adds a bulk result's per-token traces
(:func:`worker.traces.compute_traces`) when its page or its JSON is first asked for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from celery import Task, shared_task
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import get_engine
from shared.jobs import ingest
from shared.jobs.dispatch import (
    COMPUTE_BASELINE,
    COMPUTE_TRACES,
    IMPORT_MODEL,
    INGEST_JOB,
    PROCESS_CHUNK,
    cells_of,
    enqueue_chunks,
)
from shared.registry import imports
from shared.results.cache import ViewCache
from worker import baseline, processing, traces
from worker.app import settings_of
from worker.claims import Delivery, still_waiting

log = logging.getLogger(__name__)

RETRY_LIMIT = 12  # whole-chunk retries after an exception (each paper also has max_attempts)
# Backoff doubles up to this: a database back after an outage is used within seconds, and
# the retries span about two minutes; a longer outage is left to the reaper.
MAX_RETRY_DELAY_S = 10.0


class TaskSessions(sessionmaker[Session]):
    """A sessionmaker that remembers its sessions, so the task can close any left open."""

    def __init__(self, url: str) -> None:
        super().__init__(bind=get_engine(url), expire_on_commit=False)
        self.opened: list[Session] = []

    def __call__(self, **local_kw: Any) -> Session:
        session = super().__call__(**local_kw)
        self.opened.append(session)
        return session

    def close_all_opened(self) -> None:
        for session in self.opened:
            session.close()
        self.opened.clear()


class DatabaseTask(Task):
    """Owns the database sessions of one task run (Warehouse's WarehouseTask pattern).

    The sessionmaker is made on first use and kept on the request, so it lives exactly as
    long as this run; ``after_return`` closes every session it made, whatever happened, so
    no connection stays checked out of the pool between chunks.
    """

    @property
    def settings(self) -> Settings:
        return settings_of(self.app)

    @property
    def sessions(self) -> TaskSessions:
        made: TaskSessions | None = getattr(self.request, "occlab_sessions", None)
        if made is None:
            made = TaskSessions(self.settings.database_url)
            self.request.occlab_sessions = made
        return made

    def after_return(self, *args: Any, **kwargs: Any) -> None:
        made: TaskSessions | None = getattr(self.request, "occlab_sessions", None)
        if made is not None:
            made.close_all_opened()
            self.request.occlab_sessions = None


@shared_task(bind=True, base=DatabaseTask, name=PROCESS_CHUNK, max_retries=RETRY_LIMIT)
def process_chunk(self: DatabaseTask, job_id: int, result_ids: list[int]) -> dict[str, int]:
    """Compute one chunk of a job; retries only the papers that failed, as a new chunk.

    An exception (the database, the broker, the soft time limit of a hung chunk) would
    otherwise be acknowledged and the chunk forgotten; ``processing.process_chunk`` has put
    its results back, so the whole chunk is sent again with backoff. Every claim counts an
    attempt, so a chunk that hangs each time ends with its results failed after
    ``max_attempts``; past ``RETRY_LIMIT`` the reaper (``worker/reaper.py``) is left.
    """
    settings = self.settings
    start = time.perf_counter()
    try:
        outcome = _compute(self, job_id, result_ids)
    except Exception as exc:
        delay = min(MAX_RETRY_DELAY_S, settings.retry_backoff_s * 2**self.request.retries)
        log.warning("job %s chunk failed (%s); retrying in %.1f s", job_id, exc, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    counts = {
        "done": len(outcome.done),
        "failed": len(outcome.failed),
        "retry": len(outcome.retry),
        "skipped": len(outcome.skipped),
    }
    log.info(
        "job %s chunk of %d: %s in %.0f ms",
        job_id,
        len(result_ids),
        " ".join(f"{k}={v}" for k, v in counts.items()),
        1000 * (time.perf_counter() - start),
    )
    return counts


def _compute(task: DatabaseTask, job_id: int, result_ids: list[int]) -> processing.ChunkOutcome:
    settings = task.settings
    # The task id names this delivery: Celery keeps it when it hands a killed child's chunk
    # back and when the task retries, so those take their own claims back at once.
    delivery = Delivery(task.request.id or "", settings.lost_after_s, settings.heartbeat_s)
    outcome = processing.process_chunk(
        task.sessions,
        result_ids,
        settings.max_attempts,
        settings.retry_backoff_s,
        loader=partial(processing.model_for, settings=settings),
        delivery=delivery,
    )
    if outcome.retry:
        _send_again(task, job_id, outcome.retry, outcome.retry_in_s)
    if waiting := still_waiting(task.sessions, outcome.skipped):
        # Skipped while another transaction held their rows, yet nobody claimed them: a
        # copy a heartbeat later makes sure they are not left to the reaper.
        _send_again(task, job_id, waiting, settings.heartbeat_s)
    return outcome


def _send_again(task: DatabaseTask, job_id: int, ids: Sequence[int], delay_s: float) -> None:
    # Same queue as this delivery, so a GPU job's retries stay on the GPU workers.
    queue = (task.request.delivery_info or {}).get("routing_key") or task.settings.task_queue
    task.apply_async(args=[job_id, list(ids)], countdown=delay_s, queue=queue)
    log.info("job %s: %d paper(s) sent again in %.1f s", job_id, len(ids), delay_s)


@shared_task(bind=True, base=DatabaseTask, name=COMPUTE_TRACES)
def compute_traces(self: DatabaseTask, result_id: int) -> str:
    """Not retried: a request lost here is made again by the next view of the result after
    ``lost_after_s`` (``shared.results.traces.mark_requested``)."""
    views = ViewCache.from_settings(self.settings)
    try:
        loader = partial(processing.model_for, settings=self.settings)
        return traces.compute_traces(self.sessions, result_id, loader, views).value
    finally:
        views.close()


@shared_task(bind=True, base=DatabaseTask, name=INGEST_JOB, max_retries=RETRY_LIMIT)
def ingest_job(self: DatabaseTask, job_id: int) -> dict[str, int]:
    """Retried with backoff on any error (the database, the broker): each batch committed
    is recorded on the job, so the retry resumes after it."""
    settings = self.settings

    def send(job: int, result_ids: Sequence[int]) -> None:
        with self.sessions() as session:
            cells = cells_of(session, result_ids)
        enqueue_chunks(self.app, settings, job, result_ids, cells)

    try:
        out = ingest.ingest(self.sessions, settings, job_id, send)
    except Exception as exc:
        delay = min(MAX_RETRY_DELAY_S, settings.retry_backoff_s * 2**self.request.retries)
        log.warning("job %s ingestion failed (%s); retrying in %.1f s", job_id, exc, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    return {"batches": out.batches, "papers": out.papers, "problems": out.problems}


@shared_task(bind=True, base=DatabaseTask, name=COMPUTE_BASELINE)
def compute_baseline(self: DatabaseTask, job_id: int) -> str:
    """Not retried: a lost one is asked for again by the next view of the job's corpus after
    ``lost_after_s`` (``shared.results.baseline.mark_requested``)."""
    loader = partial(processing.model_for, settings=self.settings)
    return baseline.compute_baseline(self.sessions, job_id, loader)


@shared_task(bind=True, base=DatabaseTask, name=IMPORT_MODEL)
def import_model(self: DatabaseTask, model_id: int) -> str:
    """Not retried: a bad upload fails for good (the row says why) and may be uploaded
    again; one whose worker died is redelivered (late acks) after the visibility timeout."""
    return imports.finish_import(self.sessions, self.settings, model_id)
