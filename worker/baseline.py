"""A finished job's random baseline of faithfulness (shared/results/baseline.py), computed
the first time its corpus view is opened: the AOPC of random rankings over a sample of its
papers, in chunks of the worker's size (each paper's 100 variants a field run batched)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from shared.engine import Model
from shared.engine.faithfulness import RANDOM_SEEDS, random_baseline
from shared.jobs.submit import job_units
from shared.models import Job, RegisteredModel, Result
from shared.results.baseline import keep, sample
from worker.processing import model_for

log = logging.getLogger(__name__)
CHUNK = 16


def compute_baseline(
    sessions: sessionmaker[Session],
    job_id: int,
    loader: Callable[[RegisteredModel], Model] = model_for,
) -> str:
    """Store the job's baseline; "skipped" when it has one already (or no longer exists)."""
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.baseline is not None:
            return "skipped"
        ids = sample(session, job_id)
        rows = session.scalars(
            select(Result).options(joinedload(Result.paper)).where(Result.id.in_(ids))
        ).all()
        papers = [{"title": r.paper.title, "abstract": r.paper.abstract} for r in rows]
        model, units = loader(job.model), job_units(job)
    value = keep(_in_chunks(model, papers, units))
    with sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(baseline=value))
    log.info("job %s: random baseline over %d papers", job_id, value["papers"])
    return "done"


def _in_chunks(model: Any, papers: list[dict[str, str]], units: dict[str, str]) -> dict[str, Any]:
    """``random_baseline`` over all ``papers``, computed ``CHUNK`` at a time (memory)."""
    per_paper: list[dict[str, float]] = []
    for start in range(0, len(papers), CHUNK):
        per_paper += random_baseline(model, papers[start : start + CHUNK], units)["per_paper"]
    means = {k: float(np.mean([p[k] for p in per_paper])) if per_paper else None
             for k in ("aopc_comprehensiveness", "aopc_sufficiency")}  # fmt: skip
    return {"papers": len(per_paper), "seeds": RANDOM_SEEDS, **means, "per_paper": per_paper}
