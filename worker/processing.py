"""Computing a chunk of results and storing every grid cell: what a worker task calls.

Idempotent by construction: a result already done is skipped, and a result's cells, its
leave-one-out rows and its status are written in one transaction, so a chunk redelivered
after a worker died adds no rows and loses none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import String, and_, cast, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.db import utcnow
from shared.engine import Explanation, Model, explain, load_model
from shared.engine.export import activations_json
from shared.jobs.status import refresh_jobs
from shared.manifest import sha256_file
from shared.models import (
    LIVE,
    GridCell,
    Job,
    JobItem,
    LooUnit,
    RegisteredModel,
    Result,
    ResultStatus,
)
from worker.outcome import ChunkOutcome, Verdict

log = logging.getLogger(__name__)

_MODELS: dict[str, Model] = {}


def model_for(row: RegisteredModel) -> Model:
    """Load each model once per worker process, in the process that uses it (never before
    fork: CUDA state does not survive one)."""
    if row.path not in _MODELS:
        path = Path(row.path)
        if sha256_file(path / "manifest.json") != row.manifest_sha256:
            raise RuntimeError(
                f"model files at {path} changed since {row.name} {row.version} was registered"
            )
        _MODELS[row.path] = load_model(path)
    return _MODELS[row.path]


def _claim(
    session: Session, result_ids: Sequence[int], max_attempts: int, hold_s: float = 0.0
) -> tuple[list[int], list[int], list[int]]:
    """Results of this chunk that still need work and belong to a live job; marks them running.

    Returns (claimed, skipped, given-up) ids. Rows are locked first (PostgreSQL skips rows
    another copy of the chunk is claiming; SQLite takes the write lock), so two copies never
    both claim. A result running for less than ``hold_s`` belongs to a live worker and is
    skipped; an older one lost its worker. One that has had every attempt yet is still
    pending or running lost its worker each time (killed, out of memory): it is failed
    here, or a paper that kills its worker would be redelivered forever.
    """
    recent = Result.started_at > utcnow() - timedelta(seconds=hold_s)
    held = and_(Result.status == ResultStatus.RUNNING, Result.started_at.is_not(None), recent)
    query = (
        select(Result.id, Result.attempts)
        .where(
            Result.id.in_(result_ids),
            Result.status.in_((ResultStatus.PENDING, ResultStatus.RUNNING)),
            ~held,
        )
        .where(_live_job(Result.id))
        .order_by(Result.id)
    )
    rows = session.execute(_locked(session, query, result_ids)).all()
    gave_up = [i for i, attempts in rows if attempts >= max_attempts]
    claimed = [i for i, attempts in rows if attempts < max_attempts]
    _set(session, gave_up, status=ResultStatus.FAILED, finished_at=utcnow(), error=_GAVE_UP)
    # attempts + 1 in SQL: a count read in Python and written back can lose an increment.
    _set(
        session,
        claimed,
        status=ResultStatus.RUNNING,
        attempts=Result.attempts + 1,
        started_at=utcnow(),
    )
    seen = set(claimed) | set(gave_up)
    return claimed, [i for i in result_ids if i not in seen], gave_up


TIMED_OUT = "its chunk ran past the task time limit and was stopped"
_GAVE_UP = func.coalesce(
    Result.error, "gave up after " + cast(Result.attempts, String) + " attempts: its worker stopped"
)


def _live_job(result_id: Any) -> Any:
    return exists().where(
        JobItem.result_id == result_id, JobItem.job_id == Job.id, Job.status.in_(LIVE)
    )


def _locked(session: Session, query: Any, result_ids: Sequence[int]) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE; a first write takes the database's write lock, so the
        # select below sees every claim committed before and none can start until we commit.
        _set(session, result_ids, attempts=Result.attempts)
        return query
    # NO KEY UPDATE, not UPDATE: a submission that links one of these results to its job
    # (an INSERT into job_items) holds a KEY SHARE lock on the row until it commits, which
    # FOR UPDATE would conflict with, so SKIP LOCKED would pass over a result nobody works on.
    return query.with_for_update(skip_locked=True, key_share=True, of=Result)


def _set(session: Session, ids: Sequence[int], **values: Any) -> None:
    if ids:
        session.execute(
            update(Result).where(Result.id.in_(ids)).values(**values),
            execution_options={"synchronize_session": False},
        )


def _papers(rows: Sequence[Result]) -> list[dict[str, str]]:
    return [{"title": r.paper.title, "abstract": r.paper.abstract} for r in rows]


def _explain_each(model: Model, rows: Sequence[Result]) -> list[Explanation | Exception]:
    """One batched pass; if the batch fails, each paper alone, so one bad paper fails alone."""
    units = {"title": rows[0].title_unit, "abstract": rows[0].abstract_unit}
    try:
        return list(explain(model, _papers(rows), units=units))
    except SoftTimeLimitExceeded:
        raise  # the chunk is out of time: no paper is tried alone
    except Exception:
        out: list[Explanation | Exception] = []
        for paper in _papers(rows):
            try:
                out.append(explain(model, [paper], units=units)[0])
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:
                out.append(exc)
        return out


def store_explanation(session: Session, result: Result, e: Explanation, ms: float) -> None:
    g = e.grid
    session.add_all(
        GridCell(
            result_id=result.id,
            title_len=i + 1,
            abstract_len=j + 1,
            probability=float(g.probabilities[i, j]),
        )
        for i in range(g.probabilities.shape[0])
        for j in range(g.probabilities.shape[1])
    )
    session.add_all(
        LooUnit(result_id=result.id, field=f, unit_index=u, delta=float(d))
        for f, deltas in e.leave_one_out.items()
        for u, d in enumerate(deltas)
    )
    result.probability = g.probability
    result.units = {
        f.name: {"unit": f.unit, "units": f.units, "labels": f.labels} for f in g.fields
    }
    result.skipped = g.skipped
    result.activations = activations_json(e.activations, full=False) if e.activations else None
    result.status, result.error = ResultStatus.DONE, None
    result.compute_ms, result.finished_at = ms, utcnow()


def process_chunk(
    sessions: sessionmaker[Session],
    result_ids: Sequence[int],
    max_attempts: int,
    backoff_s: float,
    loader: Callable[[RegisteredModel], Model] = model_for,
    hold_s: float = 0.0,
) -> ChunkOutcome:
    """Compute and store the chunk's results; returns which to retry and when.

    If anything raises after the claim (the database, the broker, the task's soft time
    limit), the claimed results not yet saved go back to pending (failed once out of
    attempts) before the error propagates, so the task's retry, or the reaper, finds them
    instead of leaving them running for ever. Each claim counts an attempt, so a chunk that
    hangs every time ends with its results failed, not retried for ever.
    """
    outcome = ChunkOutcome()
    with sessions.begin() as session:
        claimed, outcome.skipped, outcome.failed = _claim(session, result_ids, max_attempts, hold_s)
        if claimed or outcome.failed:
            _mark_job_running(session, claimed + outcome.failed)
    if not claimed:
        return outcome
    try:
        _compute_and_save(sessions, claimed, max_attempts, backoff_s, loader, outcome)
    except Exception as exc:
        saved = set(outcome.done + outcome.failed + outcome.retry + outcome.skipped)
        error = TIMED_OUT if isinstance(exc, SoftTimeLimitExceeded) else None
        _release(sessions, [i for i in claimed if i not in saved], max_attempts, error)
        raise
    return outcome


def _compute_and_save(
    sessions: sessionmaker[Session],
    claimed: Sequence[int],
    max_attempts: int,
    backoff_s: float,
    loader: Callable[[RegisteredModel], Model],
    outcome: ChunkOutcome,
) -> None:
    with sessions() as session:
        rows = [session.get_one(Result, i) for i in claimed]
        start = time.perf_counter()
        try:
            results: Sequence[Any] = _explain_each(loader(rows[0].model), rows)
        except SoftTimeLimitExceeded:
            raise  # not the papers' fault: process_chunk puts them back
        except Exception as exc:
            results = [exc] * len(rows)
        ms = 1000 * (time.perf_counter() - start) / len(rows)
    for row, res in zip(rows, results, strict=True):
        _save_one(sessions, row.id, res, ms, max_attempts, outcome)
    if outcome.retry:
        outcome.retry_in_s = backoff_s * 2 ** (max(r.attempts for r in rows) - 1)
    _refresh(sessions, claimed)


def _release(
    sessions: sessionmaker[Session], ids: Sequence[int], max_attempts: int, error: str | None
) -> None:
    """Put claimed results back after an error: pending, or failed once out of attempts.
    ``error``, if given, says why; otherwise a failed one says that it gave up."""
    if not ids:
        return
    why = {"error": error} if error else {}
    try:
        with sessions.begin() as session:
            still_ours = update(Result).where(
                Result.id.in_(ids), Result.status == ResultStatus.RUNNING
            )
            failed = {"status": ResultStatus.FAILED, "finished_at": utcnow(), "error": _GAVE_UP}
            for out_of_attempts, values in (
                (False, {"status": ResultStatus.PENDING, **why}),
                (True, {**failed, **why}),
            ):
                spent = Result.attempts >= max_attempts
                session.execute(
                    still_ours.where(spent if out_of_attempts else ~spent).values(**values),
                    execution_options={"synchronize_session": False},
                )
            refresh_jobs(session, _jobs_of(session, ids))
    except Exception:  # the database is still down: the reaper will find them running
        log.exception("could not put back results %s", list(ids))


def _mark_job_running(session: Session, result_ids: Sequence[int]) -> None:
    refresh_jobs(session, _jobs_of(session, result_ids))


def _jobs_of(session: Session, result_ids: Sequence[int]) -> list[int]:
    return list(
        session.scalars(select(JobItem.job_id).where(JobItem.result_id.in_(result_ids)).distinct())
    )


def _save_one(
    sessions: sessionmaker[Session],
    result_id: int,
    res: Any,
    ms: float,
    max_attempts: int,
    outcome: ChunkOutcome,
) -> None:
    try:
        with sessions.begin() as session:
            verdict = _store(session, result_id, res, ms, max_attempts)
    except IntegrityError:
        # Another copy of this chunk stored the same cells first (SQLite has no row lock
        # to make this copy wait): its rows stand, this copy's are rolled back.
        verdict = Verdict.SKIPPED
    outcome.record(verdict, result_id)


def _store(session: Session, result_id: int, res: Any, ms: float, max_attempts: int) -> Verdict:
    result = session.get_one(Result, result_id, with_for_update=True)
    if result.status == ResultStatus.DONE:  # a redelivered copy of this chunk got here first
        return Verdict.SKIPPED
    if isinstance(res, Explanation):
        store_explanation(session, result, res, ms)
        return Verdict.DONE
    result.error = f"{type(res).__name__}: {res}"
    if result.attempts < max_attempts:
        result.status = ResultStatus.PENDING
        return Verdict.RETRY
    result.status, result.finished_at = ResultStatus.FAILED, utcnow()
    return Verdict.FAILED


def _refresh(sessions: sessionmaker[Session], result_ids: Sequence[int]) -> None:
    with sessions.begin() as session:
        refresh_jobs(session, _jobs_of(session, result_ids))
