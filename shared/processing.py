"""Computing a chunk of results and storing every grid cell: what a worker task calls.

Idempotent by construction: a result already done is skipped, and a result's cells, its
leave-one-out rows and its status are written in one transaction, so a chunk redelivered
after a worker died adds no rows and loses none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from shared.db import utcnow
from shared.engine import Explanation, Model, explain, load_model
from shared.engine.export import activations_json
from shared.jobs import refresh_jobs
from shared.manifest import sha256_file
from shared.models import GridCell, Job, JobItem, LooUnit, RegisteredModel, Result

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


@dataclass
class ChunkOutcome:
    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retry_in_s: float = 0.0


def _claim(
    session: Session, result_ids: Sequence[int], max_attempts: int
) -> tuple[list[Result], list[int], list[int]]:
    """Results of this chunk that still need work and belong to a live job; marks them running.

    Returns (claimed, skipped ids, given-up ids). A result that has had every attempt yet is
    still pending or running lost its worker each time (killed, out of memory): it is failed
    here, or a paper that kills its worker would be redelivered forever.
    """
    live = exists().where(
        JobItem.result_id == Result.id, JobItem.job_id == Job.id, Job.status != "cancelled"
    )
    rows = session.scalars(
        select(Result)
        .where(Result.id.in_(result_ids), Result.status.in_(("pending", "running")), live)
        .order_by(Result.id)
    ).all()
    claimed: list[Result] = []
    gave_up: list[int] = []
    for r in rows:
        if r.attempts >= max_attempts:
            r.status, r.finished_at = "failed", utcnow()
            r.error = r.error or f"gave up after {r.attempts} attempts: its worker stopped"
            gave_up.append(r.id)
        else:
            r.status, r.attempts, r.started_at = "running", r.attempts + 1, utcnow()
            claimed.append(r)
    seen = {r.id for r in rows}
    return claimed, [i for i in result_ids if i not in seen], gave_up


def _papers(rows: Sequence[Result]) -> list[dict[str, str]]:
    return [{"title": r.paper.title, "abstract": r.paper.abstract} for r in rows]


def _explain_each(model: Model, rows: Sequence[Result]) -> list[Explanation | Exception]:
    """One batched pass; if the batch fails, each paper alone, so one bad paper fails alone."""
    units = {"title": rows[0].title_unit, "abstract": rows[0].abstract_unit}
    try:
        return list(explain(model, _papers(rows), units=units))
    except Exception:
        out: list[Explanation | Exception] = []
        for paper in _papers(rows):
            try:
                out.append(explain(model, [paper], units=units)[0])
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
    result.status, result.error = "done", None
    result.compute_ms, result.finished_at = ms, utcnow()


def process_chunk(
    sessions: sessionmaker[Session],
    job_id: int,
    result_ids: Sequence[int],
    max_attempts: int,
    backoff_s: float,
    loader: Callable[[RegisteredModel], Model] = model_for,
) -> ChunkOutcome:
    """Compute and store the chunk's results; returns which to retry and when."""
    outcome = ChunkOutcome()
    with sessions.begin() as session:
        rows, outcome.skipped, outcome.failed = _claim(session, result_ids, max_attempts)
        if rows or outcome.failed:
            _mark_job_running(session, [r.id for r in rows] + outcome.failed)
    if not rows:
        return outcome
    with sessions() as session:
        rows = [session.get_one(Result, r.id) for r in rows]
        start = time.perf_counter()
        try:
            results: Sequence[Any] = _explain_each(loader(rows[0].model), rows)
        except Exception as exc:
            results = [exc] * len(rows)
        ms = 1000 * (time.perf_counter() - start) / len(rows)
    for row, res in zip(rows, results, strict=True):
        _save_one(sessions, row.id, res, ms, max_attempts, outcome)
    if outcome.retry:
        outcome.retry_in_s = backoff_s * 2 ** (max(r.attempts for r in rows) - 1)
    _refresh(sessions, [r.id for r in rows])
    return outcome


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
    with sessions.begin() as session:
        result = session.get_one(Result, result_id, with_for_update=True)
        if result.status == "done":  # a redelivered copy of this chunk got here first
            outcome.skipped.append(result_id)
        elif isinstance(res, Explanation):
            store_explanation(session, result, res, ms)
            outcome.done.append(result_id)
        elif result.attempts < max_attempts:
            result.status, result.error = "pending", f"{type(res).__name__}: {res}"
            outcome.retry.append(result_id)
        else:
            result.status, result.error = "failed", f"{type(res).__name__}: {res}"
            result.finished_at = utcnow()
            outcome.failed.append(result_id)


def _refresh(sessions: sessionmaker[Session], result_ids: Sequence[int]) -> None:
    with sessions.begin() as session:
        refresh_jobs(session, _jobs_of(session, result_ids))
