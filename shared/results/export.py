"""A whole job's results as CSV (one row per paper) or JSON Lines (one full result per line).

Both are generators over keyset pages of the job's items, so a 100,000-paper job streams in
the memory of one page: the web sends them as they come, ``occlab export`` writes them to a
file. The CSV says, per paper, which unit of each field moves P most when deleted (its
leave-one-out row of largest |delta|), found in SQL for the whole page at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from shared.models import JobItem, JobProblem, LooUnit, Result, ResultStatus
from shared.results.stored import result_json
from shared.text import csv_text
from shared.units import FIELDS

PAGE = 500
CSV_COLUMNS = (
    "position",
    "external_id",
    "title",
    "status",
    "probability",
    *(f"{f}_units" for f in FIELDS),
    *(name for f in FIELDS for name in (f"top_{f}_unit", f"top_{f}_delta")),
    "error",
)


def _pages(session: Session, job_id: int) -> Iterator[list[tuple[int, Result]]]:
    """(position, result) in submission order, PAGE at a time, each page one query."""
    after = -1
    while True:
        rows = session.execute(
            select(JobItem.position, Result)
            .join(Result, Result.id == JobItem.result_id)
            .options(joinedload(Result.paper))
            .where(JobItem.job_id == job_id, JobItem.position > after)
            .order_by(JobItem.position)
            .limit(PAGE)
        ).all()
        if not rows:
            return
        page = [(position, result) for position, result in rows]
        yield page
        after = rows[-1][0]
        # Written: let the session forget them (constant memory). Once each: a paper given
        # twice in a job is one result on two rows.
        for row in {id(o): o for _, r in page for o in (r.paper, r)}.values():
            session.expunge(row)


def _top_units(session: Session, result_ids: Sequence[int]) -> dict[tuple[int, str], LooUnit]:
    """Per (result, field), the unit whose deletion moves P most (ties: the first unit)."""
    rank = (
        func.row_number()
        .over(
            partition_by=(LooUnit.result_id, LooUnit.field),
            order_by=(func.abs(LooUnit.delta).desc(), LooUnit.unit_index),
        )
        .label("rank")
    )
    ranked = select(LooUnit, rank).where(LooUnit.result_id.in_(result_ids)).subquery()
    rows = session.execute(select(ranked).where(ranked.c.rank == 1)).all()
    return {
        (r.result_id, r.field): LooUnit(
            result_id=r.result_id, field=r.field, unit_index=r.unit_index, delta=r.delta
        )
        for r in rows
    }


def _csv_row(position: int, result: Result, top: dict[tuple[int, str], LooUnit]) -> list[Any]:
    units = result.units or {}
    done = result.status == ResultStatus.DONE
    shape = [len(units[f]["units"]) if done and f in units else None for f in FIELDS]
    best: list[Any] = []
    for f in FIELDS:
        unit = top.get((result.id, f))
        labels = units.get(f, {}).get("labels", [])
        if unit is None or unit.unit_index >= len(labels):
            best += [None, None]
        else:
            best += [labels[unit.unit_index], round(unit.delta, 6)]
    p = round(result.probability, 6) if done and result.probability is not None else None
    paper = result.paper
    return [position + 1, paper.external_id, paper.title, result.status, p, *shape, *best,
            result.error]  # fmt: skip


def job_csv(session: Session, job_id: int) -> Iterator[str]:
    """The header, then one CSV row per paper of the job, in submission order."""
    yield csv_text([CSV_COLUMNS])
    for page in _pages(session, job_id):
        top = _top_units(session, [r.id for _, r in page])
        yield csv_text([_csv_row(position, result, top) for position, result in page])


PROBLEM_COLUMNS = ("line", "field", "reason")


def problems_csv(session: Session, job_id: int) -> Iterator[str]:
    """The rows a job left out (on_error=skip): the file's line (or the paper's position in a
    JSON body), the field, and what to fix."""
    yield csv_text([PROBLEM_COLUMNS])
    after = -1
    while rows := session.execute(
        select(JobProblem.n, JobProblem.line, JobProblem.field, JobProblem.message)
        .where(JobProblem.job_id == job_id, JobProblem.n > after)
        .order_by(JobProblem.n)
        .limit(PAGE)
    ).all():
        yield csv_text([(line, field, message) for _, line, field, message in rows])
        after = rows[-1][0]


def job_jsonl(session: Session, job_id: int, html_url: Callable[[int], str]) -> Iterator[str]:
    """One line per paper: its position and external id, and the result as the API gives it."""
    for page in _pages(session, job_id):
        lines = []
        for position, result in page:
            body = result_json(session, result, html_url=html_url(result.id))
            line = {"position": position + 1, "external_id": result.paper.external_id, **body}
            lines.append(json.dumps(line, ensure_ascii=False) + "\n")
        yield "".join(lines)
