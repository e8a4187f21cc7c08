"""The Celery configuration both sides share, and enqueueing by task name.

The web process sends tasks by name through a bare Celery app, so it never imports the
worker package (or torch); the worker builds its app from the same configuration.

Publishing is bounded: a broker that hangs (a stopped Redis still accepts connections, then
never answers) makes a publish give up after about ``publish_timeout_s`` instead of holding
the request until gunicorn kills it. The caller keeps the job and sends it later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import utcnow
from shared.models import Job, JobItem, Result, ResultStatus, TracesStatus
from shared.units import Detail

PROCESS_CHUNK = "occlab.process_chunk"
COMPUTE_TRACES = "occlab.compute_traces"
INGEST_JOB = "occlab.ingest_job"
COMPUTE_BASELINE = "occlab.compute_baseline"
IMPORT_MODEL = "occlab.import_model"
# The chunk time limits, as shares of the visibility timeout (see CeleryConfig).
SOFT_LIMIT_SHARE = 0.8
HARD_LIMIT_SHARE = 0.9


class CeleryConfig:
    """Late acks + reject on worker loss + prefetch 1: a killed worker's chunk is redelivered
    to another worker instead of being lost, and no worker hoards chunks it has not started."""

    task_acks_late = True
    task_reject_on_worker_lost = True
    worker_prefetch_multiplier = 1
    task_ignore_result = True  # status lives in SQL, not in a result backend
    task_serializer = "json"
    accept_content = ("json",)
    broker_connection_retry_on_startup = True
    worker_send_task_events = True
    task_send_sent_event = True

    def __init__(self, settings: Settings) -> None:
        self.broker_url = settings.broker_url
        self.task_default_queue = settings.task_queue
        self.task_routes = {
            PROCESS_CHUNK: {"queue": settings.task_queue},
            COMPUTE_TRACES: {"queue": settings.detail_queue},
            # Read first, like traces: a large job's papers wait on it, and it sends them.
            INGEST_JOB: {"queue": settings.detail_queue},
            COMPUTE_BASELINE: {"queue": settings.detail_queue},  # someone is on the page
            IMPORT_MODEL: {"queue": settings.detail_queue},  # someone waits on the Models page
        }
        # No chunk may outlast the visibility timeout, or Redis redelivers it while it is
        # still being worked on (the time limits below stop it first).
        # Kombu looks for a dead worker's chunks every interval x throttle seconds (100 s by
        # default, whatever the timeout); look every fifth of the timeout, at most a minute.
        timeout = settings.visibility_timeout_s
        # Two tries of half the publish timeout each (see PUBLISH_TRIES) fit the whole.
        wait = publish_socket_timeout(settings)
        self.broker_transport_options = {
            "visibility_timeout": timeout,
            "unacked_restore_interval": max(1, min(60, timeout // 5)),
            "unacked_restore_throttle": 1,
            "socket_timeout": wait,
            "socket_connect_timeout": wait,
        }
        self.broker_connection_timeout = wait
        # A chunk still running when Redis redelivers it runs twice, so a hung one is stopped
        # first: at the soft limit the task raises SoftTimeLimitExceeded and puts its claimed
        # results back; if it does not return, the hard limit kills its process, still
        # before the redelivery.
        self.task_soft_time_limit = SOFT_LIMIT_SHARE * timeout
        self.task_time_limit = HARD_LIMIT_SHARE * timeout
        self.result_backend = None


# A publish is tried twice (one reconnect covers a connection the broker dropped while idle).
PUBLISH_TRIES = 2
# Kombu's redis channel polls with a 1 s BRPOP: a socket timeout below that would fail it.
MIN_SOCKET_TIMEOUT_S = 2.0


def publish_socket_timeout(settings: Settings) -> float:
    return max(MIN_SOCKET_TIMEOUT_S, settings.publish_timeout_s / PUBLISH_TRIES)


def publish_options() -> dict[str, Any]:
    """``send_task`` options: retry a failed publish once, at once, then raise."""
    policy = {"max_retries": PUBLISH_TRIES - 1, "interval_start": 0, "interval_step": 0.2}
    return {"retry": True, "retry_policy": {**policy, "interval_max": 0.2}}


def make_celery(settings: Settings, name: str = "occlab") -> Celery:
    app = Celery(name)
    app.config_from_object(CeleryConfig(settings))
    return app


def plan_chunks(
    settings: Settings, result_ids: Sequence[int], cells: Mapping[int, int | None] | None = None
) -> list[tuple[str, list[int]]]:
    """(queue, ids) per task: at most ``chunk_size`` results and about ``chunk_cells`` cells.

    Sized by cells, not by count, so one huge grid never holds fifteen small papers behind
    it: a result of ``chunk_cells`` or more is a task of its own, on the GPU queue (CPU
    workers consume it too). A job of ``gpu_threshold`` results or more goes to the GPU
    queue in GPU-sized chunks (``gpu_chunk_size``, ``gpu_chunk_cells``). A result of
    unknown size counts as an average share.
    """
    big_job = len(result_ids) >= settings.gpu_threshold
    queue = settings.gpu_queue if big_job else settings.task_queue
    most, budget = (
        (settings.gpu_chunk_size, settings.gpu_chunk_cells)
        if big_job
        else (settings.chunk_size, settings.chunk_cells)
    )
    share = max(1, settings.chunk_cells // max(1, settings.chunk_size))
    plan: list[tuple[str, list[int]]] = []
    chunk: list[int] = []
    load = 0
    for result_id in result_ids:
        size = (cells or {}).get(result_id) or share
        if size >= settings.chunk_cells:
            plan.append((settings.gpu_queue, [result_id]))
            continue
        if chunk and (len(chunk) >= most or load + size > budget):
            plan.append((queue, chunk))
            chunk, load = [], 0
        chunk.append(result_id)
        load += size
    if chunk:
        plan.append((queue, chunk))
    return plan


def cells_of(session: Session, result_ids: Sequence[int]) -> dict[int, int | None]:
    """The grid size of each result, as the submission measured it."""
    rows = session.execute(select(Result.id, Result.cells).where(Result.id.in_(result_ids)))
    return {result_id: cells for result_id, cells in rows}


def enqueue_chunks(
    app: Celery,
    settings: Settings,
    job_id: int,
    result_ids: Sequence[int],
    cells: Mapping[int, int | None] | None = None,
    **options: Any,
) -> int:
    """Send one task per chunk of result ids (ids only, never paper text); returns the count.

    Large jobs go to the GPU queue, which GPU workers consume; CPU workers consume both.
    """
    plan = plan_chunks(settings, result_ids, cells)
    options = {**publish_options(), **options}
    for queue, chunk in plan:
        app.send_task(PROCESS_CHUNK, args=[job_id, chunk], queue=queue, **options)
    return len(plan)


def send_job(
    app: Celery, settings: Settings, session: Session, job: Job, todo: Sequence[int]
) -> None:
    """Publish a committed job's chunks, then mark it sent (the caller commits that). If
    publishing raises, the job stays unsent: the reaper or a resubmission sends it later.

    A ``detail: full`` job that reuses results stored in bulk asks for their traces too."""
    enqueue_chunks(app, settings, job.id, todo, cells_of(session, todo))
    if job.detail == Detail.FULL and (untraced := untraced_results(session, job.id)):
        send_traces(app, settings, untraced)
        # Marked as the web marks a request (shared.results.traces): a view sends no second.
        session.execute(
            update(Result).where(Result.id.in_(untraced)).values(traces_requested_at=utcnow())
        )
    job.sent_at = utcnow()


def send_ingest(app: Celery, settings: Settings, job: Job) -> None:
    """Publish a committed ``ingesting`` job's one task, then mark it sent (the caller
    commits); if publishing raises, the job stays unsent and the reaper sends it."""
    app.send_task(INGEST_JOB, args=[job.id], queue=settings.detail_queue, **publish_options())
    job.sent_at = utcnow()


def send_baseline(app: Celery, settings: Settings, job_id: int) -> None:
    """Ask for a finished job's random baseline of faithfulness (its corpus view)."""
    app.send_task(COMPUTE_BASELINE, args=[job_id], queue=settings.detail_queue, **publish_options())


def send_import(app: Celery, settings: Settings, model_id: int) -> None:
    """Ask a worker to convert and register an uploaded model (``shared.registry.imports``)."""
    app.send_task(IMPORT_MODEL, args=[model_id], queue=settings.detail_queue, **publish_options())


def untraced_results(session: Session, job_id: int) -> list[int]:
    """The job's done results stored without per-token traces (the bulk profile)."""
    done = session.scalars(
        select(Result)
        .join(JobItem, JobItem.result_id == Result.id)
        .where(JobItem.job_id == job_id, Result.status == ResultStatus.DONE)
        .order_by(JobItem.position)
    )
    return list(dict.fromkeys(r.id for r in done if r.traces_status == TracesStatus.PENDING))


def send_traces(app: Celery, settings: Settings, result_ids: Sequence[int]) -> None:
    """Ask for the per-token traces of done bulk results, one task each, on the detail queue
    (read first by every worker: someone is waiting on the page)."""
    for result_id in result_ids:
        app.send_task(
            COMPUTE_TRACES, args=[result_id], queue=settings.detail_queue, **publish_options()
        )


def job_queues(settings: Settings) -> tuple[str, str]:
    """Every queue ``enqueue_chunks`` may send a job's chunks to."""
    return settings.task_queue, settings.gpu_queue


def queued_messages(app: Celery, queues: Iterable[str]) -> int:
    """Messages waiting in ``queues`` (not those a worker holds), by a passive declare: the
    same call for Redis and AMQP. A queue that does not exist holds none (Redis deletes an
    emptied list). Raises the transport's connection error when the broker is down."""
    total = 0
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        for name in queues:
            channel = conn.channel()  # a 404 closes an AMQP channel: one per queue
            try:
                total += channel.queue_declare(queue=name, passive=True).message_count
            except (ChannelError, *conn.channel_errors):
                pass
            finally:
                with suppress(Exception):
                    channel.close()
    return total
