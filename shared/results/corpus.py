"""The corpus view: what a job's papers (or a history filter's) say together.

``corpus_view`` is a dict of sections, each computed by one function from SQL aggregates
(shared/results/corpus_queries.py), never from every result loaded into Python:

- ``n`` and ``probability_histogram`` (10 bins on [0, 1], the last closed);
- ``labels`` (None without labels): n, positives, accuracy, ROC AUC and the confusion at
  ``threshold`` 0.5, the ROC curve (at most 200 points), and ``misclassified``, the papers
  the model gets wrong, most confident first;
- ``words``: title words over the leave-one-out rows (a unit's delta counts for each word
  it holds; word units hold one), in at least 3 papers, top 50 by mean |delta|;
  ``abstract_positions``: the mean delta of the first, second, ... and the last, second to
  last, ... abstract unit. A delta is P without the unit minus P of the whole paper;
- ``flips``: papers whose decision somewhere in the grid differs from the whole paper's,
  and where adding one unit flips it (title words, with the whole abstract; abstract
  positions, with the whole title).

A scope is one row per done result: a job's results (a text given twice counts once, with
the first label given) or the team's results matching a history filter (each with the label
of the team's latest job that labelled it). A section is a function of (session, tables):
another one (faithfulness) is added to :data:`SECTIONS`. Views are cached in Redis by
shared/results/corpus_cache.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.models import Job, JobItem, Paper, Result, ResultStatus
from shared.results import corpus_queries as q
from shared.results.history import HistoryFilter, conditions

BINS = 10
EDGES = np.linspace(0.0, 1.0, BINS + 1).tolist()
ROC_POINTS = 200
MISCLASSIFIED_SHOWN = 100
MIN_PAPERS = 3
TOP_WORDS = 50
FROM_START, FROM_END = 10, 5  # abstract positions shown from each end
FLIP_WORDS = 20
DIGITS = 6


@dataclass(frozen=True)
class Scope:
    """The results a view covers, as a SELECT of (result_id, label, p)."""

    select: Select[Any]
    job_id: int | None = None


# What every section reads, written once per view into temporary tables (per connection,
# so concurrent views never meet): a CTE would be evaluated again by each query, and
# PostgreSQL's guesses for a window's filter or a JSON array's length (a handful, 100)
# plan the big joins badly. Analysed, the tables give the planner true sizes.
_TEMPORARY = MetaData()
SCOPE = Table(
    "corpus_scope",
    _TEMPORARY,
    Column("result_id", Integer, primary_key=True),
    Column("label", Integer),
    Column("p", Float),
    Column("t", Integer),  # the grid's rows (title units) and columns (abstract units)
    Column("s", Integer),
    prefixes=["TEMPORARY"],
)
# Each distinct word of each title unit (from results.units: see corpus_queries.py).
WORDS = Table(
    "corpus_words",
    _TEMPORARY,
    Column("result_id", Integer, primary_key=True),
    Column("unit_index", Integer, primary_key=True),
    Column("word", Text, primary_key=True),
    prefixes=["TEMPORARY"],
)
# Where adding one unit flips the decision (corpus_queries.flip_edges).
FLIPS = Table(
    "corpus_flips",
    _TEMPORARY,
    Column("result_id", Integer),
    Column("field", String(40)),
    Column("unit_index", Integer),
    Column("from_end", Integer),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Tables:
    """The view's temporary tables: ``scope`` (result_id, label, p, t, s), ``words`` and
    ``flips``."""

    scope: Table = SCOPE
    words: Table = WORDS
    flips: Table = FLIPS


def job_scope(job_id: int) -> Scope:
    """A job's done results; a result held twice counts once, with its first label given."""
    first = func.row_number().over(
        partition_by=JobItem.result_id, order_by=(JobItem.label.is_(None), JobItem.position)
    )
    items = (
        select(JobItem.result_id, JobItem.label, first.label("n"))
        .where(JobItem.job_id == job_id)
        .subquery()
    )
    stmt = (
        select(items.c.result_id, items.c.label, Result.probability.label("p"))
        .join(Result, Result.id == items.c.result_id)
        .where(items.c.n == 1, Result.status == ResultStatus.DONE, Result.probability.is_not(None))
    )
    return Scope(stmt, job_id)


def history_scope(team_id: int, f: HistoryFilter) -> Scope:
    """The team's done results matching ``f``, each with its latest job's label."""
    latest = (
        select(JobItem.label)
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.result_id == Result.id, JobItem.label.is_not(None), Job.team_id == team_id)
        .order_by(Job.created_at.desc(), Job.id.desc(), JobItem.position)
        .limit(1)
        .scalar_subquery()
    )
    stmt = select(
        Result.id.label("result_id"), latest.label("label"), Result.probability.label("p")
    )
    if f.q:
        stmt = stmt.join(Paper, Paper.id == Result.paper_id)
    stmt = stmt.where(*conditions(team_id, f), Result.status == ResultStatus.DONE)
    return Scope(stmt.where(Result.probability.is_not(None)))


def _round(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: round(float(v), DIGITS) if isinstance(v, float) else v for k, v in r.items()}
        for r in rows
    ]


def histogram_section(session: Session, t: Tables) -> dict[str, Any]:
    counts = q.histogram(session, t.scope, EDGES)
    return {"edges": [round(e, 10) for e in EDGES], "counts": counts}


def labels_section(session: Session, t: Tables) -> dict[str, Any] | None:
    scope = t.scope
    counts = q.confusion(session, scope)
    n, positives = counts.pop("n"), counts.pop("positives")
    if not n:
        return None
    negatives = n - positives
    area, curve = q.roc(session, scope, ROC_POINTS)
    auc = area / (positives * negatives) if positives and negatives and area is not None else None
    points = [(None, 0, 0), *curve]
    return {
        "n": n,
        "positives": positives,
        "accuracy": round((counts["tp"] + counts["tn"]) / n, DIGITS),
        "roc_auc": None if auc is None else round(auc, DIGITS),
        "threshold": q.THRESHOLD,
        "confusion": counts,
        "roc_curve": {
            "thresholds": [None if p is None else round(p, DIGITS) for p, _, _ in points],
            "tpr": [round(tp / positives, DIGITS) if positives else None for _, tp, _ in points],
            "fpr": [round(fp / negatives, DIGITS) if negatives else None for _, _, fp in points],
        },
        "misclassified": {
            "count": counts["fp"] + counts["fn"],
            "papers": _round(q.misclassified(session, scope, MISCLASSIFIED_SHOWN)),
        },
    }


def words_section(session: Session, t: Tables) -> list[dict[str, Any]]:
    return _round(q.word_deltas(session, t.words, MIN_PAPERS, TOP_WORDS))


def positions_section(session: Session, t: Tables) -> dict[str, Any]:
    units = q.abstract_units(t.scope)
    return {
        "from_start": _round(q.position_deltas(session, units, "from_start", FROM_START)),
        "from_end": _round(q.position_deltas(session, units, "from_end", FROM_END)),
    }


def flips_section(session: Session, t: Tables) -> dict[str, Any]:
    return {
        "papers": q.flipping(session, t.scope),
        "along_title": q.papers_in(session, t.flips, "title"),
        "along_abstract": q.papers_in(session, t.flips, "abstract"),
        "title_words": q.flip_words(session, t.flips, t.words, FLIP_WORDS),
        "abstract_positions": {
            end: q.flip_positions(session, t.flips, end, limit)
            for end, limit in (("from_start", FROM_START), ("from_end", FROM_END))
        },
    }


def _count(session: Session, t: Tables) -> int:
    return int(session.scalar(select(func.count()).select_from(t.scope)) or 0)


Section = Callable[[Session, Tables], Any]
# The view's sections, in the order the JSON, the CSV and the page give them.
SECTIONS: dict[str, Section] = {
    "n": _count,
    "probability_histogram": histogram_section,
    "labels": labels_section,
    "words": words_section,
    "abstract_positions": positions_section,
    "flips": flips_section,
}


def corpus_view(session: Session, scope: Scope) -> dict[str, Any]:
    view: dict[str, Any] = {"job_id": scope.job_id} if scope.job_id is not None else {}
    conn, tables = session.connection(), Tables()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # JIT compiling costs these short aggregates more than it saves (half a second).
        conn.execute(text("SET LOCAL jit = off"))
    _drop(conn)
    _TEMPORARY.create_all(conn)
    try:
        _fill(conn, scope)
        view.update({name: section(session, tables) for name, section in SECTIONS.items()})
    finally:
        # After a failed query PostgreSQL refuses this too; the rollback then drops them.
        with contextlib.suppress(DBAPIError):
            _drop(conn)
    return view


def _fill(conn: Connection, scope: Scope) -> None:
    rows = scope.select.subquery()
    sized = select(rows, *q.grid_size(rows.c.result_id))
    conn.execute(insert(SCOPE).from_select(["result_id", "label", "p", "t", "s"], sized))
    _analyze(conn, SCOPE)
    words = q.title_words(conn.dialect.name, SCOPE)
    conn.execute(insert(WORDS).from_select(["result_id", "unit_index", "word"], words))
    flips = q.flip_edges(SCOPE)
    conn.execute(insert(FLIPS).from_select(["result_id", "field", "unit_index", "from_end"], flips))
    _analyze(conn, WORDS, FLIPS)


def _analyze(conn: Connection, *tables: Table) -> None:
    if conn.dialect.name == "postgresql":  # temporary tables are never autovacuumed
        conn.execute(text(f"ANALYZE {', '.join(t.name for t in tables)}"))


def _drop(conn: Connection) -> None:
    for table in _TEMPORARY.tables.values():
        conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
