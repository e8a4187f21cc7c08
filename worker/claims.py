"""Which delivery of a chunk computes each result: claims, heartbeats and putting back.

A claim marks a result running and names the delivery that made it (the Celery task id,
which a redelivered message and a task's retry keep). So when a pool child is killed and
Celery hands the chunk straight back, or a retry follows a database outage mid-save, that
delivery takes its own results back at once. Any other delivery leaves a running result
alone while its worker's heartbeat is fresh, and takes it over once the heartbeat is older
than ``lost_after_s``: a live worker's results are never stolen, a dead one's wait seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, exists, false, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.db import utcnow
from shared.jobs.status import refresh_jobs
from shared.models import LIVE, Job, JobItem, Result, ResultStatus

log = logging.getLogger(__name__)

GAVE_UP = func.coalesce(
    Result.error, "gave up after " + cast(Result.attempts, String) + " attempts: its worker stopped"
)


@dataclass(frozen=True)
class Delivery:
    """One delivery of a chunk: its claim token and the heartbeat rules it follows.

    The defaults (no token, no heartbeat, lost at once) are those of a chunk computed
    directly, as the tests and ``occlab`` commands do: any running result may be taken."""

    token: str = ""
    lost_after_s: float = 0.0
    heartbeat_s: float = 0.0


DIRECT = Delivery()


def claim(
    session: Session, result_ids: Sequence[int], max_attempts: int, delivery: Delivery
) -> tuple[list[int], list[int], list[int]]:
    """Results of this chunk that still need work and belong to a live job; marks them running.

    Returns (claimed, skipped, given-up) ids. Rows are locked first (PostgreSQL skips rows
    another copy of the chunk is claiming; SQLite takes the write lock), so two copies never
    both claim. One that has had every attempt yet is still pending or running lost its
    worker each time (killed, out of memory): it is failed here, or a paper that kills its
    worker would be redelivered forever.
    """
    query = (
        select(Result.id, Result.attempts)
        .where(Result.id.in_(result_ids), _takeable(delivery))
        .where(live_job(Result.id))
        .order_by(Result.id)
    )
    rows = session.execute(_locked(session, query, result_ids)).all()
    gave_up = [i for i, attempts in rows if attempts >= max_attempts]
    claimed = [i for i, attempts in rows if attempts < max_attempts]
    now = utcnow()
    set_status(session, gave_up, status=ResultStatus.FAILED, finished_at=now, error=GAVE_UP)
    # attempts + 1 in SQL: a count read in Python and written back can lose an increment.
    set_status(
        session,
        claimed,
        status=ResultStatus.RUNNING,
        attempts=Result.attempts + 1,
        started_at=now,
        heartbeat_at=now,
        claimed_by=delivery.token or None,
    )
    seen = set(claimed) | set(gave_up)
    return claimed, [i for i in result_ids if i not in seen], gave_up


def _takeable(delivery: Delivery) -> Any:
    beat = func.coalesce(Result.heartbeat_at, Result.started_at)
    lost = or_(beat.is_(None), beat <= utcnow() - timedelta(seconds=delivery.lost_after_s))
    ours = Result.claimed_by == delivery.token if delivery.token else false()
    running = Result.status == ResultStatus.RUNNING
    return or_(Result.status == ResultStatus.PENDING, running & or_(ours, lost))


def live_job(result_id: Any) -> Any:
    return exists().where(
        JobItem.result_id == result_id, JobItem.job_id == Job.id, Job.status.in_(LIVE)
    )


def _locked(session: Session, query: Any, result_ids: Sequence[int]) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE; a first write takes the database's write lock, so the
        # select below sees every claim committed before and none can start until we commit.
        set_status(session, result_ids, attempts=Result.attempts)
        return query
    # NO KEY UPDATE, not UPDATE: a submission that links one of these results to its job
    # (an INSERT into job_items) holds a KEY SHARE lock on the row until it commits, which
    # FOR UPDATE would conflict with, so SKIP LOCKED would pass over a result nobody works on.
    return query.with_for_update(skip_locked=True, key_share=True, of=Result)


def set_status(session: Session, ids: Sequence[int], **values: Any) -> None:
    if ids:
        session.execute(
            update(Result).where(Result.id.in_(ids)).values(**values),
            execution_options={"synchronize_session": False},
        )


def _ours(ids: Sequence[int], delivery: Delivery) -> Any:
    """Results of ``ids`` this delivery still holds (another may have taken one over)."""
    mine = Result.claimed_by == delivery.token if delivery.token else Result.claimed_by.is_(None)
    return update(Result).where(Result.id.in_(ids), Result.status == ResultStatus.RUNNING, mine)


@contextmanager
def heartbeat(
    sessions: sessionmaker[Session], ids: Sequence[int], delivery: Delivery
) -> Iterator[None]:
    """Stamp the claimed results every ``heartbeat_s`` while the chunk computes.

    A thread, so a long batched forward pass keeps beating (PyTorch releases the GIL); a
    failed stamp (the database is away) is logged and tried again at the next beat."""
    if delivery.heartbeat_s <= 0 or not ids:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(delivery.heartbeat_s):
            try:
                with sessions.begin() as session:
                    session.execute(
                        _ours(ids, delivery).values(heartbeat_at=utcnow()),
                        execution_options={"synchronize_session": False},
                    )
            except Exception as exc:
                log.warning("heartbeat of results %s failed: %s", list(ids), exc)

    thread = threading.Thread(target=beat, name="occlab-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def release(
    sessions: sessionmaker[Session],
    ids: Sequence[int],
    max_attempts: int,
    delivery: Delivery,
    error: str | None,
) -> None:
    """Put claimed results back after an error: pending, or failed once out of attempts.
    ``error``, if given, says why; otherwise a failed one says that it gave up."""
    if not ids:
        return
    why = {"error": error} if error else {}
    failed = {"status": ResultStatus.FAILED, "finished_at": utcnow(), "error": GAVE_UP}
    try:
        with sessions.begin() as session:
            for out_of_attempts, values in (
                (False, {"status": ResultStatus.PENDING, **why}),
                (True, {**failed, **why}),
            ):
                spent = Result.attempts >= max_attempts
                which = spent if out_of_attempts else ~spent
                session.execute(
                    _ours(ids, delivery).where(which).values(**values),
                    execution_options={"synchronize_session": False},
                )
            refresh_jobs(session, jobs_of(session, ids))
    except Exception:  # the database is still down: this delivery's retry takes them back
        log.exception("could not put back results %s", list(ids))


def jobs_of(session: Session, result_ids: Sequence[int]) -> list[int]:
    return list(
        session.scalars(select(JobItem.job_id).where(JobItem.result_id.in_(result_ids)).distinct())
    )


def still_waiting(sessions: sessionmaker[Session], ids: Sequence[int]) -> list[int]:
    """Of ``ids``, those still pending for a live job: a chunk skipped them because another
    transaction held their rows, and nothing else is sure to send them again."""
    if not ids:
        return []
    with sessions() as session:
        query = select(Result.id).where(
            Result.id.in_(ids), Result.status == ResultStatus.PENDING, live_job(Result.id)
        )
        return list(session.scalars(query.order_by(Result.id)))
