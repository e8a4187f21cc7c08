"""Corpus views (shared/results/corpus.py) kept in the Redis view cache, with what they are
drawn into (figures) keyed beside them.

A finished job's view never changes (its results are done; a later job's labels are its
own), so it is kept until the cache's TTL. A history filter's view is keyed by the filter
and by what would change it: the number of the team's done results, the last time one
finished, and its newest job (whose labels may be the latest). A live job's view is
computed each time, as its papers are still arriving.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Job, JobStatus, Result, ResultStatus
from shared.results.cache import ViewCache
from shared.results.corpus import corpus_view, history_scope, job_scope
from shared.results.history import HistoryFilter

Render = Callable[[], bytes]


def _cached(cache: ViewCache | None, kind: str, key: int, view: str, render: Render) -> bytes:
    if cache is None:
        return render()
    hit = cache.get(key, view, kind=kind)
    if hit is None:
        hit = render()
        cache.set(key, view, hit, kind=kind)
    return hit


def cached_job(cache: ViewCache | None, job: Job, view: str, render: Render) -> bytes:
    """``view`` of a job's corpus (its JSON, a figure) as bytes, cached once it is finished."""
    if not JobStatus(job.status).finished:
        return render()
    return _cached(cache, "job", job.id, view, render)


def job_view_json(session: Session, job: Job, cache: ViewCache | None) -> bytes:
    """A job's corpus view as JSON bytes."""
    render = lambda: json.dumps(corpus_view(session, job_scope(job.id))).encode()  # noqa: E731
    return cached_job(cache, job, "corpus.json", render)


def history_version(session: Session, team_id: int, f: HistoryFilter) -> str:
    """What a history filter's cached views are keyed by: the filter and the team's data."""
    done = select(func.count(), func.max(Result.finished_at)).where(
        Result.team_id == team_id, Result.status == ResultStatus.DONE
    )
    count, last = session.execute(done).one()
    newest_job = session.scalar(select(func.max(Job.id)).where(Job.team_id == team_id))
    state = json.dumps([asdict(f), count, str(last), newest_job], default=str)
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def cached_history(
    session: Session, team_id: int, f: HistoryFilter, cache: ViewCache | None, view: str,
    render: Render,
) -> bytes:  # fmt: skip
    """``view`` of the corpus of the team's results matching ``f`` (JSON, a figure)."""
    key = f"corpus.{history_version(session, team_id, f)}.{view}"
    return _cached(cache, "history", team_id, key, render)


def history_view_json(
    session: Session, team_id: int, f: HistoryFilter, cache: ViewCache | None
) -> bytes:
    def render() -> bytes:
        return json.dumps(corpus_view(session, history_scope(team_id, f))).encode()

    return cached_history(session, team_id, f, cache, "json", render)
