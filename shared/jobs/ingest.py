"""Large submissions: stored at once, read into the job by a worker in batches.

The web stores the file (``shared.papers.storage``), adds the job as ``ingesting`` with
the file's id and answers 202; the ``occlab.ingest_job`` task then reads the file with the
one reader (``parse_papers``), and for each batch of rows checks the papers, writes them
(``shared.jobs.items``: bulk inserts, ``COPY`` on PostgreSQL), commits and sends that
batch's chunks, so the first papers compute while the rest is read. Bad rows become the
job's problems as they are met (``on_error=skip``); ``on_error=reject`` reads the whole
file first and stores nothing but the problems if any row is bad.

Each batch's commit records how many rows it has taken (``jobs.ingested_rows``): a
redelivered or retried task (a killed worker, a database outage) resumes after them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import utcnow
from shared.jobs.items import Item, add_items, add_problems
from shared.jobs.status import refresh_jobs
from shared.jobs.submit import (
    JobRejected,
    PaperProblem,
    Submission,
    check_options,
    job_units,
    measure_papers,
    new_job,
)
from shared.models import Job, JobProblem, JobStatus, StoredFile
from shared.papers import UNKNOWN_TYPE, FileError, Row, RowError, kind_of
from shared.papers.objects import ObjectStore, object_store
from shared.papers.storage import chunks, delete_file
from shared.papers.stream import iter_papers
from shared.registry.catalog import model_vocab

log = logging.getLogger(__name__)

ROWS_PER_BATCH = 1000
Send = Callable[[int, Sequence[int]], None]  # (job id, result ids) -> publish the chunks


def start_ingest(session: Session, settings: Settings, sub: Submission) -> Job:
    """The ``ingesting`` job that will read ``sub.file_id`` (added and flushed, not
    committed). Options and the model are checked now, so a bad one is refused at once."""
    check_options(sub.title_unit, sub.abstract_unit, sub.detail)
    job = new_job(session, settings, sub, status=JobStatus.INGESTING, file_id=sub.file_id,
                  mapping=sub.mapping)  # fmt: skip
    session.add(job)
    session.flush()
    return job


@dataclass
class Ingested:
    batches: int = 0
    papers: int = 0
    problems: int = 0
    full: bool = False  # the job reached max_papers_per_job: the rest is not read


def ingest(
    sessions: sessionmaker[Session], settings: Settings, job_id: int, send: Send
) -> Ingested:
    """Read job ``job_id``'s stored file into it; a job no longer ingesting (cancelled,
    or already read) is left alone. Each batch is committed, then its chunks are sent."""
    out, objects = Ingested(), object_store(settings)
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.file_id is None:
            return out
        if job.status != JobStatus.INGESTING:  # cancelled before it was read: let go
            _drop_file(session, job_id, objects)
            return out
        try:
            entries = _entries(session, job, objects)
            if job.on_error == "reject" and job.ingested_rows == 0:
                _reject_if_any_bad(session, settings, job, _entries(session, job, objects))
        except (FileError, JobRejected) as exc:
            _fail(session, job, exc, objects)
            return out
        session.commit()
        for batch in _batches(entries, job.ingested_rows):
            todo = _take(session, settings, job_id, batch, out)
            if todo is None:  # cancelled meanwhile: the file is no longer needed
                _drop_file(session, job_id, objects)
                return out
            session.commit()
            send(job_id, todo)
            if out.full:
                break
        _finish(session, job_id, objects)
    return out


def _entries(session: Session, job: Job, objects: ObjectStore | None) -> Iterator[Row | RowError]:
    """The file's rows and row errors in file order, read a block at a time (the file is
    never whole in memory); ``FileError`` when it cannot be read at all."""
    stored = session.get(StoredFile, job.file_id)
    if stored is None:
        raise FileError("the stored file is gone: submit the papers again")
    kind = kind_of(stored.name)
    if kind is None:
        raise FileError(f"{stored.name}: {UNKNOWN_TYPE}")
    entries = iter_papers(chunks(session, stored.id, objects), stored.name, kind, job.mapping)
    first = next(entries, None)  # a file that cannot be read fails here, before any batch
    return itertools.chain([first] if first else [], entries)


def _batches(entries: Iterator[Row | RowError], skip: int) -> Iterator[list[Row | RowError]]:
    rest = itertools.islice(entries, skip, None)
    while batch := list(itertools.islice(rest, ROWS_PER_BATCH)):
        yield batch


def _check(
    settings: Settings, job: Job, batch: Sequence[Row | RowError], vocab: frozenset[str]
) -> tuple[list[Item], list[PaperProblem]]:
    rows = [e for e in batch if isinstance(e, Row)]
    papers = [{**r.as_paper(), "_line": r.line} for r in rows]
    found, cells = measure_papers(
        papers, vocab, job_units(job), [r.line for r in rows], settings.max_grid_cells
    )
    unreadable = [PaperProblem(e.line, None, e.message) for e in batch if isinstance(e, RowError)]
    good = [Item(p, size) for p, size in zip(papers, cells, strict=True) if size]
    return good, sorted([*unreadable, *found], key=lambda p: p.index)


def _take(
    session: Session, settings: Settings, job_id: int, batch: Sequence[Row | RowError],
    out: Ingested,
) -> list[int] | None:  # fmt: skip
    """Write one batch (locking the job: a cancel waits for it, or wins before it)."""
    job = _locked(session, job_id)
    if job is None or job.status != JobStatus.INGESTING:
        session.rollback()
        return None
    good, problems = _check(settings, job, batch, model_vocab(session, settings, job.model))
    good, problems = _within_limit(settings, job, good, problems, out)
    so_far = session.scalar(select(func.count()).where(JobProblem.job_id == job_id)) or 0
    out.problems += add_problems(session, job_id, so_far, problems)
    todo = add_items(session, job, good, job.total)
    job.total += len(good)
    job.rejected += len({p.index for p in problems})
    job.ingested_rows += len(batch)
    out.batches, out.papers = out.batches + 1, out.papers + len(good)
    refresh_jobs(session, [job_id])
    return todo


def _within_limit(
    settings: Settings, job: Job, good: list[Item], problems: list[PaperProblem], out: Ingested
) -> tuple[list[Item], list[PaperProblem]]:
    """At ``max_papers_per_job`` the job is full: the rest of the file is left unread, and
    the first row left out says so."""
    room = settings.max_papers_per_job - job.total
    if len(good) <= room:
        return good, problems
    out.full = True
    line = int(good[room].paper.get("_line") or 0)
    limit = settings.max_papers_per_job
    message = (f"the job's limit of {limit:,} papers (OCCLAB_MAX_PAPERS_PER_JOB) is reached: "
               "this row and the rest of the file were not read; split the file")  # fmt: skip
    kept = [p for p in problems if p.index < line] if line else problems
    return good[:room], [*kept, PaperProblem(line, None, message)]


def _reject_if_any_bad(
    session: Session, settings: Settings, job: Job, entries: Iterator[Row | RowError]
) -> None:
    """on_error=reject: any bad row sinks the job, so read the whole file before writing."""
    vocab = model_vocab(session, settings, job.model)
    problems: list[PaperProblem] = []
    for batch in _batches(entries, 0):
        problems.extend(_check(settings, job, batch, vocab)[1])
    if problems:
        raise JobRejected(problems, "the file has errors (on_error=reject: nothing was added)")


def _fail(
    session: Session, job: Job, exc: FileError | JobRejected, objects: ObjectStore | None
) -> None:
    problems = exc.problems if isinstance(exc, JobRejected) else []
    add_problems(session, job.id, 0, problems)
    job.rejected = len({p.index for p in problems})
    why = exc.message if isinstance(exc, JobRejected) else str(exc)
    _close(session, job, JobStatus.FAILED, why, objects)
    session.commit()
    log.info("job %s not ingested: %s", job.id, job.error)


def _locked(session: Session, job_id: int) -> Job | None:
    """The job, locked and read afresh (a cancel may have committed since)."""
    query = select(Job).where(Job.id == job_id).with_for_update()
    return session.scalar(query.execution_options(populate_existing=True))


def _drop_file(session: Session, job_id: int, objects: ObjectStore | None) -> None:
    job = session.get(Job, job_id)
    if job is not None:
        _forget_file(session, job, objects)
    session.commit()


def _forget_file(session: Session, job: Job, objects: ObjectStore | None) -> None:
    """Unlink the job's stored file (its papers are in, or not wanted), then delete it
    unless another job still reads it: the jobs of a group under several models read one
    file. The file's row is locked first, so of two jobs letting go at once the second
    waits for the first's commit and sees it gone: one of them deletes the file."""
    if job.file_id is None:
        return
    file_id, job.file_id = job.file_id, None
    session.flush()
    session.execute(select(StoredFile.id).where(StoredFile.id == file_id).with_for_update())
    others = select(Job.id).where(Job.file_id == file_id, Job.status == JobStatus.INGESTING)
    if session.scalar(others.limit(1)) is None:
        delete_file(session, file_id, objects)


def _finish(session: Session, job_id: int, objects: ObjectStore | None) -> None:
    job = _locked(session, job_id)
    if job is None or job.status != JobStatus.INGESTING:
        return
    if job.total == 0:
        _close(
            session,
            job,
            JobStatus.FAILED,
            "no paper could be read: see the job's problems",
            objects,
        )
    else:
        _close(session, job, JobStatus.QUEUED, None, objects)
        refresh_jobs(session, [job_id])
    session.commit()
    log.info("job %s ingested: %d papers, %d problems", job_id, job.total, job.rejected)


def _close(
    session: Session, job: Job, status: JobStatus, error: str | None, objects: ObjectStore | None
) -> None:
    """The file has been read (or cannot be): forget it, and move the job on."""
    _forget_file(session, job, objects)
    job.status, job.error = status, error
    if status == JobStatus.FAILED:
        job.finished_at = utcnow()
