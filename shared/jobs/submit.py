"""Submitting a job: the SQL side, with no model and no torch.

A submission writes the job, its papers and their pending results in one transaction; the
tasks are sent only after that commit, so a worker never looks for rows that are not there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.jobs.items import Item, add_items, add_problems
from shared.jobs.status import refresh_jobs
from shared.manifest import LabelError, label_of
from shared.models import Job, JobItem, Result, ResultStatus
from shared.registry.catalog import find_model, model_vocab
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
    # A large submission: its stored file (``papers`` empty), read by a worker, and how.
    file_id: int | None = None
    mapping: dict[str, str | None] | None = None
    # The team's result this (one-paper) submission is an edit of ("Edit this paper").
    revises_id: int | None = None
    # Further models (name or name:version): the same papers and options under each, as
    # one job per model linked by ``jobs.group_id`` (``link_group``).
    other_models: tuple[str | None, ...] = ()

    def each_model(self) -> list[Submission]:
        """This submission once per model it names, ``model`` first."""
        return [self, *(replace(self, model=m, other_models=()) for m in self.other_models)]


ON_ERROR = ("skip", "reject")
MAX_MODELS = 4  # models one submission may name


def link_group(jobs: Sequence[Job]) -> None:
    """Jobs of one submission under several models become a group: each gets the first
    job's id as ``group_id`` (the jobs are flushed: they have ids). Two names for one model
    (``default`` and ``default:1.0.0``) are refused: the comparison would be of a model with
    itself."""
    if len(jobs) < 2:
        return
    seen: set[int] = set()
    for job in jobs:
        if job.model_id in seen:
            name = f"{job.model.name}:{job.model.version}"
            raise InputError(f"models: {name} is named twice; name each model once", "models")
        seen.add(job.model_id)
    for job in jobs:
        job.group_id = jobs[0].id


def create_job(session: Session, settings: Settings, sub: Submission) -> tuple[Job, list[int]]:
    """Add the job with its papers and results (not committed); returns it and the result ids
    that need computing. Raises :class:`JobRejected`, adding nothing, when no paper is good,
    or when any is bad and ``on_error`` is reject; otherwise bad rows are the job's problems."""
    check_options(sub.title_unit, sub.abstract_unit, sub.detail)
    if not sub.papers and not sub.problems:
        raise JobRejected([], "no papers: give at least one paper with a title and an abstract")
    check_count(len(sub.papers), settings)
    job = new_job(session, settings, sub)
    vocab = model_vocab(session, settings, job.model)
    found, cells = measure_papers(
        sub.papers, vocab, job_units(job), sub.indexes, settings.max_grid_cells
    )
    problems = sorted([*sub.problems, *found], key=lambda p: p.index)
    good = [Item(paper, size) for paper, size in zip(sub.papers, cells, strict=True) if size]
    if problems and (sub.on_error == "reject" or not good):
        raise JobRejected(problems, _why_rejected(sub, good))
    revised = _revised(session, sub)  # before add_items may reset a failed result
    session.add(job)
    session.flush()
    job.total = len(good)
    job.rejected = len(sub.papers) - len(good) + len({p.index for p in sub.problems})
    add_problems(session, job.id, 0, problems)
    todo = add_items(session, job, good, 0)
    if revised is not None:
        _link_revision(session, job, revised)
    refresh_jobs(session, [job.id])
    return job, todo


def check_options(title_unit: str, abstract_unit: str, detail: str) -> None:
    for f, unit in {"title": title_unit, "abstract": abstract_unit}.items():
        if unit not in UNITS:
            raise JobRejected([PaperProblem(0, f, f"{f}_unit must be one of {', '.join(UNITS)}")])
    if detail not in tuple(Detail):
        raise JobRejected([PaperProblem(0, "detail", f"detail must be one of {', '.join(Detail)}")])


def check_count(papers: int, settings: Settings) -> None:
    if papers > settings.max_papers_per_job:
        raise JobRejected(
            [], f"{papers:,} papers; the limit is {settings.max_papers_per_job:,} a job: split it"
        )


def new_job(session: Session, settings: Settings, sub: Submission, **extra: Any) -> Job:
    """The job row for ``sub`` (not added): its model found (``InputError`` if unknown)."""
    keep = settings.keep_boilerplate if sub.keep_boilerplate is None else sub.keep_boilerplate
    model = find_model(session, settings, sub.team_id, sub.model)
    return Job(
        team_id=sub.team_id,
        submitter_id=sub.submitter_id,
        model_id=model.id,
        model=model,
        source=sub.source,
        source_name=sub.source_name,
        detail=sub.detail,
        title_unit=sub.title_unit,
        abstract_unit=sub.abstract_unit,
        keep_boilerplate=keep,
        on_error=sub.on_error,
        total=0,
        rejected=0,
        **extra,
    )


def job_units(job: Job) -> dict[str, str]:
    """How the job's papers are cut: the units mapping ``split_units`` takes."""
    units = {"title": job.title_unit, "abstract": job.abstract_unit}
    return {**units, **boilerplate_option(job.keep_boilerplate)}


@dataclass(frozen=True)
class _Revised:
    id: int
    was_done: bool  # read before _result_for can reset a failed result to pending


def _revised(session: Session, sub: Submission) -> _Revised | None:
    """The result a submission edits, checked: the team's own, and only for one paper."""
    if sub.revises_id is None:
        return None
    if len(sub.papers) != 1:
        raise JobRejected([], "revises names one result: submit one paper with it")
    row = session.get(Result, sub.revises_id)
    if row is None or row.team_id != sub.team_id:
        raise JobRejected([], f"revises: your team has no result {sub.revises_id}")
    return _Revised(row.id, row.status == ResultStatus.DONE)


def _link_revision(session: Session, job: Job, revised: _Revised) -> None:
    """The link the job's one item keeps; an unchanged paper is refused if its result is
    done (a result is no revision of itself), and re-run without a link if it is not (a
    retry)."""
    item = session.scalars(select(JobItem).where(JobItem.job_id == job.id)).one()
    if revised.id != item.result_id:
        item.revises_id = revised.id
    elif revised.was_done:
        raise JobRejected(
            [PaperProblem(1, None, f"it is result {item.result_id} as it stands")],
            "nothing changed: edit the title, the abstract or an option first",
        )


def _why_rejected(sub: Submission, good: Sequence[Any]) -> str:
    if good:
        return "the submission has errors (on_error=reject: fix them, or leave out on_error)"
    if len(sub.papers) + len(sub.problems) == 1:
        return "the submission has errors"
    return "no paper could be read: fix the rows below"
