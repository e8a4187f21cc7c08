"""Submitting a job: the SQL side, with no model and no torch.

A submission writes the job, its papers and their pending results in one transaction; the
tasks are sent only after that commit, so a worker never looks for rows that are not there."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import get_or_add
from shared.jobs.registry import find_model, model_vocab
from shared.jobs.status import refresh_jobs
from shared.manifest import LabelError, label_of
from shared.models import LIVE, Job, JobItem, JobProblem, Paper, Result, ResultStatus
from shared.text import NUL, nul_message
from shared.units import (
    DEFAULT_UNITS,
    FIELDS,
    UNITS,
    Detail,
    InputError,
    boilerplate_option,
    keeps_boilerplate,
    split_units,
)

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


def content_hash(title: str, abstract: str) -> str:
    return hashlib.sha256(f"{title}\x1f{abstract}".encode()).hexdigest()


def check_papers(
    papers: Sequence[Mapping[str, Any]],
    vocab: frozenset[str],
    units: Mapping[str, str],
    indexes: Sequence[int] | None = None,
    max_cells: int | None = None,
) -> list[PaperProblem]:
    """Every problem in the submission, each naming the paper and the field."""
    return measure_papers(papers, vocab, units, indexes, max_cells)[0]


def measure_papers(
    papers: Sequence[Mapping[str, Any]],
    vocab: frozenset[str],
    units: Mapping[str, str],
    indexes: Sequence[int] | None = None,
    max_cells: int | None = None,
) -> tuple[list[PaperProblem], list[int]]:
    """The problems, and each paper's grid size in cells (0 for a paper with problems)."""
    problems: list[PaperProblem] = []
    cells: list[int] = []
    for n, paper in enumerate(papers):
        index = indexes[n] if indexes else n + 1
        found, size = _check_one(index, paper, vocab, units)
        if not found and max_cells is not None and size > max_cells:
            found = [PaperProblem(index, None, _too_big(size, max_cells))]
        problems.extend(found)
        cells.append(0 if found else size)
    return problems, cells


def _too_big(cells: int, limit: int) -> str:
    return (
        f"its grid would have {cells:,} cells (title units x abstract units); the limit is "
        f"{limit:,} (OCCLAB_MAX_GRID_CELLS): cut the abstract into sentences, or shorten it"
    )


def _check_one(
    index: int, paper: Any, vocab: frozenset[str], units: Mapping[str, str]
) -> tuple[list[PaperProblem], int]:
    if not isinstance(paper, Mapping):
        return [
            PaperProblem(index, None, "each paper must be an object with title and abstract")
        ], 0
    problems = []
    external = paper.get("id")
    if external is not None and len(str(external)) > MAX_EXTERNAL_ID:
        message = f"id is {len(str(external)):,} characters; the limit is {MAX_EXTERNAL_ID}"
        problems.append(PaperProblem(index, "id", message))
    elif external is not None and NUL in str(external):
        problems.append(PaperProblem(index, "id", nul_message("id")))
    try:
        label_of(paper)
    except LabelError as exc:
        problems.append(PaperProblem(index, "label", str(exc)))
    cells = 1
    keep = keeps_boilerplate(units)
    for f in FIELDS:
        try:
            cells *= len(split_units(f, paper.get(f), units[f], vocab, keep).units)
        except InputError as exc:
            problems.append(PaperProblem(index, f, str(exc)))
    return problems, cells


@dataclass
class Submission:
    team_id: int
    submitter_id: int | None
    papers: Sequence[Mapping[str, Any]]
    model: str | None = None
    title_unit: str = DEFAULT_UNITS["title"]
    abstract_unit: str = DEFAULT_UNITS["abstract"]
    source: str = "api"
    source_name: str | None = None
    indexes: Sequence[int] | None = None
    detail: str = Detail.BULK
    # skip: bad rows are left out and kept as the job's problems; reject: any sinks the job.
    on_error: str = "skip"
    # Rows already found unreadable (a file's row errors), kept with the job's problems.
    problems: Sequence[PaperProblem] = ()
    # Placeholders and publisher lines as units; None: the OCCLAB_KEEP_BOILERPLATE setting.
    keep_boilerplate: bool | None = None


ON_ERROR = ("skip", "reject")


def create_job(session: Session, settings: Settings, sub: Submission) -> tuple[Job, list[int]]:
    """Add the job with its papers and results (not committed); returns it and the result ids
    that need computing. Raises :class:`JobRejected`, adding nothing, when no paper is good,
    or when any is bad and ``on_error`` is reject; otherwise bad rows are the job's problems."""
    units = {"title": sub.title_unit, "abstract": sub.abstract_unit}
    for f, unit in units.items():
        if unit not in UNITS:
            raise JobRejected([PaperProblem(0, f, f"{f}_unit must be one of {', '.join(UNITS)}")])
    if sub.detail not in tuple(Detail):
        raise JobRejected([PaperProblem(0, "detail", f"detail must be one of {', '.join(Detail)}")])
    if not sub.papers and not sub.problems:
        raise JobRejected([], "no papers: give at least one paper with a title and an abstract")
    if len(sub.papers) > settings.max_papers_per_job:
        raise JobRejected(
            [],
            f"{len(sub.papers):,} papers; the limit is "
            f"{settings.max_papers_per_job:,} a job: split the file",
        )
    keep = settings.keep_boilerplate if sub.keep_boilerplate is None else sub.keep_boilerplate
    model = find_model(session, settings, sub.model)
    vocab = model_vocab(model.path)
    options = {**units, **boilerplate_option(keep)}
    found, cells = measure_papers(sub.papers, vocab, options, sub.indexes, settings.max_grid_cells)
    problems = sorted([*sub.problems, *found], key=lambda p: p.index)
    good = [(paper, size) for paper, size in zip(sub.papers, cells, strict=True) if size]
    if problems and (sub.on_error == "reject" or not good):
        raise JobRejected(problems, _why_rejected(sub, good))
    job = Job(
        team_id=sub.team_id,
        submitter_id=sub.submitter_id,
        model_id=model.id,
        source=sub.source,
        source_name=sub.source_name,
        total=len(good),
        rejected=len(sub.papers) - len(good) + len({p.index for p in sub.problems}),
        detail=sub.detail,
        **{"title_unit": sub.title_unit, "abstract_unit": sub.abstract_unit},
        keep_boilerplate=keep,
    )
    session.add(job)
    session.flush()
    session.add_all(
        JobProblem(job_id=job.id, n=n, line=p.index or None, field=p.field, message=p.message)
        for n, p in enumerate(problems)
    )
    todo: list[int] = []
    for position, (paper, size) in enumerate(good):
        result, fresh = _result_for(session, job, paper, size)
        label = label_of(paper)  # checked above; per item: two jobs may label a text apart
        session.add(JobItem(job_id=job.id, position=position, result_id=result.id, label=label))
        if fresh and result.id not in todo:  # the same paper twice in one job: one task
            todo.append(result.id)
    session.flush()
    refresh_jobs(session, [job.id])
    return job, todo


def _why_rejected(sub: Submission, good: Sequence[Any]) -> str:
    if good:
        return "the submission has errors (on_error=reject: fix them, or leave out on_error)"
    if len(sub.papers) + len(sub.problems) == 1:
        return "the submission has errors"
    return "no paper could be read: fix the rows below"


def _result_for(
    session: Session, job: Job, paper: Mapping[str, Any], cells: int
) -> tuple[Result, bool]:
    """The paper's result under this job's model and units, and whether it must be computed.

    The same text already submitted by the team reuses its result (done, or queued by a
    live earlier job); a failed one is reset so the paper is tried again. A pending or
    running result that no other live, sent job holds (its job was cancelled, or it was
    never sent: the broker was down, or the web died before enqueueing) is sent again:
    nothing else would compute it soon, and a second copy is harmless (a chunk skips
    results already done).
    """
    title, abstract = paper["title"].strip(), paper["abstract"].strip()
    key = {"team_id": job.team_id, "content_hash": content_hash(title, abstract)}
    extra = {"title": title, "abstract": abstract, "external_id": paper.get("id")}
    row, _ = get_or_add(session, Paper, key, extra)
    result, created = get_or_add(
        session,
        Result,
        {
            "team_id": job.team_id,
            "paper_id": row.id,
            "model_id": job.model_id,
            "title_unit": job.title_unit,
            "abstract_unit": job.abstract_unit,
            "keep_boilerplate": job.keep_boilerplate,
        },
        {"cells": cells},
    )
    result.cells = result.cells or cells  # rows made before grid sizes were kept
    if result.status in (ResultStatus.FAILED, ResultStatus.CANCELLED):
        result.status, result.attempts, result.error = ResultStatus.PENDING, 0, None
        result.finished_at = None
        return result, True
    if not created and result.status in (ResultStatus.PENDING, ResultStatus.RUNNING):
        return result, not _held_by_live_job(session, result.id, job.id)
    return result, created


def _held_by_live_job(session: Session, result_id: int, job_id: int) -> bool:
    held = exists().where(
        JobItem.result_id == result_id,
        JobItem.job_id == Job.id,
        Job.id != job_id,
        Job.status.in_(LIVE),
        Job.sent_at.is_not(None),
    )
    return bool(session.scalar(select(held)))
