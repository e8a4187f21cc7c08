"""Writing a batch of a job's papers: papers, results and job items in a few statements.

One query per table per batch, not per paper: papers and results are inserted with
``ON CONFLICT DO NOTHING`` (a racing submission of the same text loses nothing and reads
the winner's row), then read back by key; job items, which nobody else writes, are copied
in (``COPY`` on PostgreSQL). A batch of 1,000 papers is a handful of round trips.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.manifest import label_of
from shared.models import LIVE, Job, JobItem, JobProblem, Paper, Result, ResultStatus

BATCH = 1000  # papers per statement (and per ingest transaction)


@dataclass(frozen=True)
class Item:
    """A checked paper of the job: its text and its grid size in cells."""

    paper: Mapping[str, Any]
    cells: int

    @property
    def texts(self) -> tuple[str, str]:
        return str(self.paper["title"]).strip(), str(self.paper["abstract"]).strip()


def content_hash(title: str, abstract: str) -> str:
    return hashlib.sha256(f"{title}\x1f{abstract}".encode()).hexdigest()


def add_items(session: Session, job: Job, items: Sequence[Item], first_position: int) -> list[int]:
    """Add ``items`` to ``job`` at positions from ``first_position`` (flushed, not
    committed); returns the ids of the results that must be computed, each once."""
    todo: list[int] = []
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        papers = _paper_ids(session, job.team_id, batch)
        results, fresh = _result_ids(session, job, batch, papers)
        # The label is the item's (checked with the paper): two jobs may label a text apart.
        rows = [
            {"job_id": job.id, "position": first_position + start + n, "result_id": rid,
             "label": label_of(item.paper)}
            for n, (rid, item) in enumerate(zip(results, batch, strict=True))
        ]  # fmt: skip
        copy_rows(session, JobItem.__table__, rows)  # type: ignore[arg-type]
        todo.extend(r for r in dict.fromkeys(results) if r in fresh and r not in todo)
    return todo


def add_problems(session: Session, job_id: int, first_n: int, problems: Iterable[Any]) -> int:
    """The job's problem rows (``PaperProblem``s) numbered from ``first_n``; returns the count."""
    rows = [
        {"job_id": job_id, "n": first_n + n, "line": p.index or None, "field": p.field,
         "message": p.message}
        for n, p in enumerate(problems)
    ]  # fmt: skip
    copy_rows(session, JobProblem.__table__, rows)  # type: ignore[arg-type]
    return len(rows)


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _paper_ids(session: Session, team_id: int, batch: Sequence[Item]) -> dict[str, int]:
    """content hash -> paper id, adding the papers the team does not have yet."""
    wanted: dict[str, dict[str, Any]] = {}
    for item in batch:
        title, abstract = item.texts
        digest = content_hash(title, abstract)
        row = {"team_id": team_id, "content_hash": digest, "title": title, "abstract": abstract}
        wanted.setdefault(digest, {**row, "external_id": item.paper.get("id")})
    session.execute(_insert(session, Paper).on_conflict_do_nothing(), list(wanted.values()))
    rows = session.execute(
        select(Paper.content_hash, Paper.id).where(
            Paper.team_id == team_id, Paper.content_hash.in_(wanted)
        )
    )
    return {digest: pid for digest, pid in rows}


def _result_ids(
    session: Session, job: Job, batch: Sequence[Item], papers: Mapping[str, int]
) -> tuple[list[int], set[int]]:
    """Each item's result id (in order), and the results this job must send."""
    options = {
        "team_id": job.team_id,
        "model_id": job.model_id,
        "title_unit": job.title_unit,
        "abstract_unit": job.abstract_unit,
        "keep_boilerplate": job.keep_boilerplate,
    }
    paper_of = [papers[content_hash(*item.texts)] for item in batch]
    cells = {pid: item.cells for pid, item in zip(paper_of, batch, strict=True)}
    mine = Result.paper_id.in_(cells)
    same = [getattr(Result, k) == v for k, v in options.items()]
    before = _by_paper(session, mine, *same)
    new = [{**options, "paper_id": p, "cells": c} for p, c in cells.items() if p not in before]
    created: set[int] = set()
    if new:
        insert = _insert(session, Result).on_conflict_do_nothing().returning(Result.id)
        created = set(session.scalars(insert, new).all())
    ids = _by_paper(session, mine, *same)
    _fill_cells(session, before, cells)
    fresh = created | _to_send_again(session, job, list(before.values()))
    return [ids[p] for p in paper_of], fresh


def _by_paper(session: Session, *where: Any) -> dict[int, int]:
    rows = session.execute(select(Result.paper_id, Result.id).where(*where))
    return {paper_id: result_id for paper_id, result_id in rows}


def _fill_cells(session: Session, before: Mapping[int, int], cells: Mapping[int, int]) -> None:
    """Results made before grid sizes were kept get theirs (chunks are sized by them)."""
    legacy = session.scalars(
        select(Result.id).where(Result.id.in_(before.values()), Result.cells.is_(None))
    ).all()
    paper_of = {rid: pid for pid, rid in before.items()}
    for rid in legacy:
        session.execute(
            update(Result).where(Result.id == rid).values(cells=cells[paper_of[rid]]),
            execution_options={"synchronize_session": False},
        )


def _to_send_again(session: Session, job: Job, existing: Sequence[int]) -> set[int]:
    """Of the results the team already had: the failed and cancelled ones (reset to pending,
    so the paper is tried again) and the pending or running ones that no other live, sent
    job holds (its job was cancelled, or never sent); a second copy of one of those is
    harmless, as a chunk skips results already done."""
    if not existing:
        return set()
    reset = session.scalars(
        update(Result)
        .where(Result.id.in_(existing))
        .where(Result.status.in_((ResultStatus.FAILED, ResultStatus.CANCELLED)))
        .values(status=ResultStatus.PENDING, attempts=0, error=None, finished_at=None)
        .returning(Result.id),
        execution_options={"synchronize_session": False},
    ).all()
    held = exists().where(
        JobItem.result_id == Result.id,
        JobItem.job_id == Job.id,
        Job.id != job.id,
        Job.status.in_(LIVE),
        Job.sent_at.is_not(None),
    )
    # Already in this job from an earlier batch: sent with that batch.
    earlier = exists().where(JobItem.result_id == Result.id, JobItem.job_id == job.id)
    waiting = session.scalars(
        select(Result.id).where(
            Result.id.in_(existing),
            Result.status.in_((ResultStatus.PENDING, ResultStatus.RUNNING)),
            ~held,
            ~earlier,
        )
    ).all()
    return {*reset, *waiting}


def copy_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys): ``COPY`` on PostgreSQL, inside the session's
    transaction; one executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[c] for c in columns])


__all__ = ["BATCH", "Item", "add_items", "add_problems", "content_hash", "copy_rows"]
