"""A team's results, newest first: search, filters and keyset pagination in one SQL query.

Pages are keyed on ``(created_at, id)`` descending (index ``ix_results_team_created_id``), so
page 500 costs what page 1 does and a result finished meanwhile never shifts a page. Totals
are counted up to :data:`COUNT_CAP` (1,000 for a text search, whose matches are rechecked
row by row); beyond it the page says "more than 10,000".

A result can belong to several jobs (it is shared when the same paper is asked again), so
the submitter filter keeps a result when *any* job that includes it was submitted by that
person; the list shows the submitter of the result's first job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from shared.models import Job, JobItem, Paper, RegisteredModel, Result, ResultStatus, User

PAGE_SIZE = 50
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000  # a text match is rechecked per row: count fewer of them
MAX_QUERY = 200


@dataclass(frozen=True)
class HistoryFilter:
    q: str = ""
    model_id: int | None = None
    p_min: float | None = None
    p_max: float | None = None
    since: date | None = None
    until: date | None = None
    submitter_id: int | None = None
    status: ResultStatus | None = None

    @property
    def active(self) -> bool:
        return self != HistoryFilter()


@dataclass(frozen=True)
class Cursor:
    """The last row of the previous page."""

    created_at: datetime
    id: int

    def token(self) -> str:
        return f"{self.created_at.isoformat()}_{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        if not token:
            return None
        try:
            stamp, _, rid = token.rpartition("_")
            return cls(datetime.fromisoformat(stamp), int(rid))
        except ValueError:
            return None


@dataclass
class HistoryPage:
    results: list[Result]
    submitters: dict[int, str]
    total: int
    capped: bool
    cap: int
    next_cursor: Cursor | None


def conditions(team_id: int, f: HistoryFilter) -> list[Any]:
    """The WHERE clauses of a filter; the text search is a case-insensitive substring of the
    title, the abstract or the external id (a DOI)."""
    where: list[Any] = [Result.team_id == team_id]
    if f.q:
        needle = f.q[:MAX_QUERY]
        where.append(
            or_(
                Paper.title.icontains(needle, autoescape=True),
                Paper.abstract.icontains(needle, autoescape=True),
                Paper.external_id.icontains(needle, autoescape=True),
            )
        )
    if f.model_id is not None:
        where.append(Result.model_id == f.model_id)
    if f.p_min is not None:
        where.append(Result.probability >= f.p_min)
    if f.p_max is not None:
        where.append(Result.probability <= f.p_max)
    if f.since is not None:
        where.append(Result.created_at >= datetime.combine(f.since, time.min))
    if f.until is not None:  # inclusive: the whole of that day
        where.append(Result.created_at < datetime.combine(f.until + timedelta(days=1), time.min))
    if f.submitter_id is not None:
        where.append(_submitted_by(f.submitter_id))
    if f.status is not None:
        where.append(Result.status == f.status)
    return where


def _submitted_by(user_id: int) -> Any:
    return exists().where(
        JobItem.result_id == Result.id, JobItem.job_id == Job.id, Job.submitter_id == user_id
    )


def _base(team_id: int, f: HistoryFilter) -> Select[Any]:
    stmt = select(Result)
    if f.q:
        stmt = stmt.join(Paper, Paper.id == Result.paper_id)
    return stmt.where(*conditions(team_id, f))


def history_page(
    session: Session,
    team_id: int,
    f: HistoryFilter,
    cursor: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> HistoryPage:
    stmt = _base(team_id, f).options(joinedload(Result.paper), joinedload(Result.model))
    if cursor is not None:
        stmt = stmt.where(tuple_(Result.created_at, Result.id) < (cursor.created_at, cursor.id))
    stmt = stmt.order_by(Result.created_at.desc(), Result.id.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    cap = SEARCH_COUNT_CAP if f.q else COUNT_CAP
    total, capped = count_results(session, team_id, f, cap)
    last = rows[-1] if more else None
    next_cursor = Cursor(last.created_at, last.id) if last is not None else None
    return HistoryPage(rows, first_submitters(session, rows), total, capped, cap, next_cursor)


def count_results(
    session: Session, team_id: int, f: HistoryFilter, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """How many results match, counting no further than ``cap`` (and whether it was hit)."""
    inner = _base(team_id, f).with_only_columns(Result.id).limit(cap + 1).subquery()
    n = session.scalar(select(func.count()).select_from(inner)) or 0
    return min(n, cap), n > cap


def first_submitters(session: Session, rows: list[Result]) -> dict[int, str]:
    """result id -> email of whoever submitted the earliest job that includes it."""
    if not rows:
        return {}
    stmt = (
        select(JobItem.result_id, User.email)
        .join(Job, Job.id == JobItem.job_id)
        .join(User, User.id == Job.submitter_id)
        .where(JobItem.result_id.in_([r.id for r in rows]))
        .order_by(Job.created_at.desc(), Job.id.desc())
    )
    # Ordered newest first, so the dict keeps the earliest job's submitter for each result.
    return {rid: email for rid, email in session.execute(stmt)}


def team_models(session: Session, team_id: int) -> list[RegisteredModel]:
    """Models the team has results under, for the model filter."""
    used = select(Result.model_id).where(Result.team_id == team_id).distinct()
    stmt = select(RegisteredModel).where(RegisteredModel.id.in_(used))
    return list(session.scalars(stmt.order_by(RegisteredModel.name, RegisteredModel.version)))


def team_submitters(session: Session, team_id: int) -> list[User]:
    """People who submitted jobs in the team, for the submitter filter."""
    ids = select(Job.submitter_id).where(Job.team_id == team_id, Job.submitter_id.is_not(None))
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.email)))


def newest_matching(session: Session, team_id: int, q: str, limit: int) -> list[Result]:
    """The team's newest ``limit`` results whose title, abstract or external id contain
    ``q`` (all of them when ``q`` is empty): the compare page's pickers, without a count."""
    stmt = _base(team_id, HistoryFilter(q=q.strip()))
    stmt = stmt.options(joinedload(Result.paper), joinedload(Result.model))
    stmt = stmt.order_by(Result.created_at.desc(), Result.id.desc()).limit(limit)
    return list(session.scalars(stmt))
