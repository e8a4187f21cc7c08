"""Computing a chunk of results and storing every grid cell: what a worker task calls.

By default a result is stored in its bulk profile: grid cells, leave-one-out rows and the
features' contributions, without the per-token traces (``worker/traces.py`` adds those when
the result is first shown); a ``detail: full`` job stores the traces up front.

Idempotent by construction: a result already done is skipped, and a result's cells, its
leave-one-out rows and its status are written in one transaction, so a chunk redelivered
after a worker died adds no rows and loses none.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, sessionmaker

from shared.config import Settings, load_settings
from shared.db import utcnow
from shared.engine import Explanation, Model, explain, load_model
from shared.engine.export import activations_json, faithfulness_json
from shared.jobs.status import refresh_jobs
from shared.manifest import sha256_file
from shared.models import (
    GridCell,
    Job,
    JobItem,
    LooUnit,
    RegisteredModel,
    Result,
    ResultStatus,
)
from shared.papers.objects import object_store
from shared.registry.files import local_dir
from shared.units import Detail
from worker.claims import DIRECT, Delivery, claim, heartbeat, jobs_of, release
from worker.outcome import ChunkOutcome, Verdict

log = logging.getLogger(__name__)

# The models this process has loaded, least recently used first: a worker serving many
# teams' models keeps the last few, not every one it ever met (GPU memory).
_MODELS: OrderedDict[str, Model] = OrderedDict()
KEEP_MODELS = 4


def model_for(row: RegisteredModel, settings: Settings | None = None) -> Model:
    """Load each model once per worker process, in the process that uses it (never before
    fork: CUDA state does not survive one). A model this machine lacks is fetched from the
    database (or object store) by hash into ``OCCLAB_MODEL_CACHE``; loading checks every
    file's hash against the manifest the registry holds."""
    key = str(row.manifest_sha256 or row.path)
    if key not in _MODELS:
        session = object_session(row)
        if session is None:
            raise RuntimeError(f"model {row.spec} is not attached to a session")
        settings = settings or load_settings()
        path = local_dir(session, row, settings.model_cache_dir, object_store(settings))
        if row.manifest_sha256 and sha256_file(path / "manifest.json") != row.manifest_sha256:
            raise RuntimeError(
                f"model files at {path} changed since {row.name} {row.version} was registered"
            )
        _MODELS[key] = load_model(path)
        while len(_MODELS) > KEEP_MODELS:
            _MODELS.popitem(last=False)
    _MODELS.move_to_end(key)
    return _MODELS[key]


TIMED_OUT = "its chunk ran past the task time limit and was stopped"


def _papers(rows: Sequence[Result]) -> list[dict[str, str]]:
    return [{"title": r.paper.title, "abstract": r.paper.abstract} for r in rows]


def detail_for(session: Session, result_ids: Sequence[int]) -> Detail:
    """Full if any job holding one of these results asked for ``detail: full`` (a chunk is
    one job's, so in practice that job's choice); bulk otherwise."""
    wants_full = exists().where(
        JobItem.result_id.in_(result_ids), JobItem.job_id == Job.id, Job.detail == Detail.FULL
    )
    return Detail.FULL if session.scalar(select(wants_full)) else Detail.BULK


def _explain_each(
    model: Model, rows: Sequence[Result], detail: Detail
) -> list[Explanation | Exception]:
    """One batched pass; if the batch fails, each paper alone, so one bad paper fails alone."""
    units = rows[0].unit_options()
    try:
        return list(explain(model, _papers(rows), units=units, detail=detail))
    except SoftTimeLimitExceeded:
        raise  # the chunk is out of time: no paper is tried alone
    except Exception:
        out: list[Explanation | Exception] = []
        for paper in _papers(rows):
            try:
                out.append(explain(model, [paper], units=units, detail=detail)[0])
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
    result.units = {f.name: f.to_json() for f in g.fields}
    result.skipped = g.skipped
    result.activations = activations_json(e.activations, full=False) if e.activations else None
    result.faithfulness = faithfulness_json(e.faithfulness)
    result.status, result.error, result.claimed_by = ResultStatus.DONE, None, None
    result.compute_ms, result.finished_at = ms, utcnow()


def process_chunk(
    sessions: sessionmaker[Session],
    result_ids: Sequence[int],
    max_attempts: int,
    backoff_s: float,
    loader: Callable[[RegisteredModel], Model] = model_for,
    delivery: Delivery = DIRECT,
) -> ChunkOutcome:
    """Compute and store the chunk's results; returns which to retry and when.

    If anything raises after the claim (the database, the broker, the task's soft time
    limit), the claimed results not yet saved go back to pending (failed once out of
    attempts) before the error propagates, so the task's retry, or the reaper, finds them
    instead of leaving them running for ever. Each claim counts an attempt, so a chunk that
    hangs every time ends with its results failed, not retried for ever. While it computes,
    the claimed results' heartbeat is kept fresh (see ``worker.claims``).
    """
    outcome = ChunkOutcome()
    with sessions.begin() as session:
        claimed, outcome.skipped, outcome.failed = claim(
            session, result_ids, max_attempts, delivery
        )
        if claimed or outcome.failed:
            refresh_jobs(session, jobs_of(session, claimed + outcome.failed))
    if not claimed:
        return outcome
    try:
        with heartbeat(sessions, claimed, delivery):
            _compute_and_save(sessions, claimed, max_attempts, backoff_s, loader, outcome)
    except Exception as exc:
        saved = set(outcome.done + outcome.failed + outcome.retry + outcome.skipped)
        error = TIMED_OUT if isinstance(exc, SoftTimeLimitExceeded) else None
        release(sessions, [i for i in claimed if i not in saved], max_attempts, delivery, error)
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
        detail = detail_for(session, claimed)
        start = time.perf_counter()
        try:
            results: Sequence[Any] = _explain_each(loader(rows[0].model), rows, detail)
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
        refresh_jobs(session, jobs_of(session, result_ids))
