"""Submitting, tracking and cancelling jobs: the SQL side, with no model and no torch.

A submission writes the job, its papers and their pending results in one transaction; the
tasks are sent only after that commit, so a worker never looks for rows that are not there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import utcnow
from shared.manifest import DEFAULT_MODEL_DIR, read_manifest, read_vocab, sha256_file
from shared.models import Job, JobItem, Paper, RegisteredModel, Result
from shared.units import UNITS, InputError, split_units

FIELDS = ("title", "abstract")
LIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
MAX_EXTERNAL_ID = 300  # Paper.external_id is String(300)


@dataclass
class PaperProblem:
    index: int  # 1-based position in the submission (or the file's line number)
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "error": self.message}


@dataclass
class JobRejected(ValueError):
    """Nothing was stored; each problem says which paper and field, and what to fix."""

    problems: list[PaperProblem] = field(default_factory=list)
    message: str = "the submission has errors"

    def __str__(self) -> str:
        first = self.problems[0] if self.problems else None
        return f"{self.message}: paper {first.index}: {first.message}" if first else self.message


@lru_cache(maxsize=8)
def model_vocab(model_path: str) -> frozenset[str]:
    """A model directory's vocabulary, read once per process (the web's forms use it too)."""
    return read_vocab(Path(model_path))


def register_model(session: Session, model_dir: Path = DEFAULT_MODEL_DIR) -> RegisteredModel:
    """The registry row for a model directory, created on first use."""
    manifest = read_manifest(model_dir)
    digest = sha256_file(model_dir / "manifest.json")
    name, version = str(manifest.get("name")), str(manifest.get("version"))
    extra = {
        "manifest_sha256": digest,
        "path": str(model_dir.resolve()),
        "fields": list(manifest["architecture"]["fields"]),
        "metrics": manifest.get("metrics", {}),
    }
    # Two first requests may both find no row; the savepoint lets the loser re-select.
    row, _ = _get_or_add(session, RegisteredModel, {"name": name, "version": version}, extra)
    if row.manifest_sha256 != digest:
        raise InputError(
            f"model {name} {version} is registered with different files; "
            "give the new model a new version"
        )
    return row


def find_model(session: Session, settings: Settings, spec: str | None) -> RegisteredModel:
    """``spec`` is None (the default model), ``name`` (its newest version) or ``name:version``."""
    if spec is None:
        return register_model(session, settings.model_dir or DEFAULT_MODEL_DIR)
    name, _, version = spec.partition(":")
    query = select(RegisteredModel).filter_by(name=name)
    if version:
        query = query.filter_by(version=version)
    row = session.scalars(query.order_by(RegisteredModel.created_at.desc())).first()
    if row is None:
        raise InputError(f"model: no model named {spec!r}; leave it out for the default", "model")
    return row


def content_hash(title: str, abstract: str) -> str:
    return hashlib.sha256(f"{title}\x1f{abstract}".encode()).hexdigest()


def check_papers(
    papers: Sequence[Mapping[str, Any]],
    vocab: frozenset[str],
    units: Mapping[str, str],
    indexes: Sequence[int] | None = None,
) -> list[PaperProblem]:
    """Every problem in the submission, each naming the paper and the field."""
    problems = []
    for n, paper in enumerate(papers):
        index = indexes[n] if indexes else n + 1
        if not isinstance(paper, Mapping):
            problems.append(
                PaperProblem(index, None, "each paper must be an object with title and abstract")
            )
            continue
        external = paper.get("id")
        if external is not None and len(str(external)) > MAX_EXTERNAL_ID:
            message = f"id is {len(str(external)):,} characters; the limit is {MAX_EXTERNAL_ID}"
            problems.append(PaperProblem(index, "id", message))
        for f in FIELDS:
            try:
                split_units(f, paper.get(f), units[f], vocab)
            except InputError as exc:
                problems.append(PaperProblem(index, f, str(exc)))
    return problems


@dataclass
class Submission:
    team_id: int
    submitter_id: int | None
    papers: Sequence[Mapping[str, Any]]
    model: str | None = None
    title_unit: str = "word"
    abstract_unit: str = "sentence"
    source: str = "api"
    source_name: str | None = None
    indexes: Sequence[int] | None = None


def create_job(session: Session, settings: Settings, sub: Submission) -> tuple[Job, list[int]]:
    """Add the job with its papers and results (not committed); returns it and the result ids
    that need computing. Raises :class:`JobRejected` and adds nothing if any paper is bad."""
    units = {"title": sub.title_unit, "abstract": sub.abstract_unit}
    for f, unit in units.items():
        if unit not in UNITS:
            raise JobRejected([PaperProblem(0, f, f"{f}_unit must be one of {', '.join(UNITS)}")])
    if not sub.papers:
        raise JobRejected([], "no papers: give at least one paper with a title and an abstract")
    if len(sub.papers) > settings.max_papers_per_job:
        raise JobRejected(
            [],
            f"{len(sub.papers):,} papers; the limit is "
            f"{settings.max_papers_per_job:,} a job: split the file",
        )
    model = find_model(session, settings, sub.model)
    problems = check_papers(sub.papers, model_vocab(model.path), units, sub.indexes)
    if problems:
        raise JobRejected(problems)
    job = Job(
        team_id=sub.team_id,
        submitter_id=sub.submitter_id,
        model_id=model.id,
        source=sub.source,
        source_name=sub.source_name,
        total=len(sub.papers),
        **{"title_unit": sub.title_unit, "abstract_unit": sub.abstract_unit},
    )
    session.add(job)
    session.flush()
    todo: list[int] = []
    for position, paper in enumerate(sub.papers):
        result, fresh = _result_for(session, job, paper)
        session.add(JobItem(job_id=job.id, position=position, result_id=result.id))
        if fresh and result.id not in todo:  # the same paper twice in one job: one task
            todo.append(result.id)
    session.flush()
    refresh_jobs(session, [job.id])
    return job, todo


def _result_for(session: Session, job: Job, paper: Mapping[str, Any]) -> tuple[Result, bool]:
    """The paper's result under this job's model and units, and whether it must be computed.

    The same text already submitted by the team reuses its result (done, or queued by a
    live earlier job); a failed one is reset so the paper is tried again. A pending or
    running result that no other live job holds (its job was cancelled, or the web died
    before enqueueing) is sent again: nothing else would ever compute it, and a second copy
    is harmless (a chunk skips results already done).
    """
    title, abstract = paper["title"].strip(), paper["abstract"].strip()
    key = {"team_id": job.team_id, "content_hash": content_hash(title, abstract)}
    extra = {"title": title, "abstract": abstract, "external_id": paper.get("id")}
    row, _ = _get_or_add(session, Paper, key, extra)
    result, created = _get_or_add(
        session,
        Result,
        {
            "team_id": job.team_id,
            "paper_id": row.id,
            "model_id": job.model_id,
            "title_unit": job.title_unit,
            "abstract_unit": job.abstract_unit,
        },
        {},
    )
    if result.status == "failed":
        result.status, result.attempts, result.error = "pending", 0, None
        return result, True
    if not created and result.status in ("pending", "running"):
        return result, not _held_by_live_job(session, result.id, job.id)
    return result, created


def _held_by_live_job(session: Session, result_id: int, job_id: int) -> bool:
    held = exists().where(
        JobItem.result_id == result_id,
        JobItem.job_id == Job.id,
        Job.id != job_id,
        Job.status.in_(LIVE),
    )
    return bool(session.scalar(select(held)))


def _get_or_add(
    session: Session, model: Any, key: dict[str, Any], extra: dict[str, Any]
) -> tuple[Any, bool]:
    row = session.scalar(select(model).filter_by(**key))
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = model(**key, **extra)
            session.add(row)
        return row, True
    except IntegrityError:  # another submission added it a moment ago
        return session.scalar(select(model).filter_by(**key)), False


def refresh_jobs(session: Session, job_ids: Sequence[int]) -> None:
    """Recount done/failed from the results and move each job's status along."""
    if not job_ids:
        return
    _lock_jobs(session, job_ids)
    done = func.sum(case((Result.status == "done", 1), else_=0))
    failed = func.sum(case((Result.status == "failed", 1), else_=0))
    running = func.sum(case((Result.status == "running", 1), else_=0))
    rows = session.execute(
        select(JobItem.job_id, done, failed, running)
        .join(Result, Result.id == JobItem.result_id)
        .where(JobItem.job_id.in_(job_ids))
        .group_by(JobItem.job_id)
    ).all()
    for job_id, n_done, n_failed, n_running in rows:
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.status in FINISHED:  # its counts stay as they were at the end
            continue
        job.done, job.failed = int(n_done or 0), int(n_failed or 0)
        _advance(job, int(n_running or 0))


def _lock_jobs(session: Session, job_ids: Sequence[int]) -> None:
    """Lock the jobs before counting: row locks on PostgreSQL, the write lock on SQLite.

    Without it, two chunks that finish together can each count before the other commits,
    and the staler count, written last, leaves a finished job "running" for ever. Locking
    one id at a time, in order, keeps two refreshes of overlapping jobs from deadlocking.
    """
    for job_id in sorted(set(job_ids)):
        session.execute(
            update(Job).where(Job.id == job_id).values(done=Job.done),
            execution_options={"synchronize_session": False},
        )


def _advance(job: Job, running: int) -> None:
    # A finished job stays finished: a resubmission that resets a result it shares (a failed
    # paper tried again) concerns the new job, not this one.
    if job.status in FINISHED:
        return
    if job.done + job.failed >= job.total:
        job.status = "failed" if job.failed == job.total else "done"
        job.finished_at = job.finished_at or utcnow()
    elif running or job.done or job.failed:
        job.status = "running"
        job.started_at = job.started_at or utcnow()


def cancel_job(session: Session, job: Job) -> bool:
    """Cancel a job that has not finished; its chunks not yet started then do nothing.

    A conditional UPDATE: a worker's refresh that just finished the job (or holds its row
    lock, finishing it now) wins over the status this session read before."""
    cancelled = session.scalar(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(LIVE))
        .values(status="cancelled", finished_at=utcnow())
        .returning(Job.id),
        execution_options={"synchronize_session": False},
    )
    session.refresh(job)
    return cancelled is not None
