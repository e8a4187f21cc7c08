"""The corpus view's aggregates: each one SQL query over a scope of results (see corpus.py).

A scope is a table of (result_id, label, p): one row per done result, its label (a class index
or NULL) and its P. Nothing here loads a result's rows into Python; each query returns a
handful of aggregate rows.

Title words come from the units stored with each result (``results.units``, JSON): the
words of title unit u are ``units.title.units[u]``, lower-cased tokens. Both databases can
expand that array in SQL (``json_array_elements`` on PostgreSQL, ``json_each`` on SQLite), so
the words are joined to ``loo_units`` without a table of their own and without a pass in
Python: on PostgreSQL the 20,000-result aggregate parses each result's JSON once.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Select,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from shared.models import GridCell, LooUnit, Paper, Result

THRESHOLD = 0.5  # P at or above it: the positive class


def decision(p: Any) -> ColumnElement[int]:
    """1 where ``p`` says the positive class, else 0 (as integers: both databases compare)."""
    return case((p >= THRESHOLD, 1), else_=0)


def histogram(session: Session, scope: FromClause, edges: list[float]) -> list[int]:
    """Counts of P in [edges[k], edges[k+1]), the last bin closed (numpy.histogram's rule)."""
    last = len(edges) - 2
    bins = [
        func.sum(
            case(
                (and_(scope.c.p >= lo, scope.c.p <= hi if k == last else scope.c.p < hi), 1),
                else_=0,
            )
        )
        for k, (lo, hi) in enumerate(pairwise(edges))
    ]
    row = session.execute(select(*bins).select_from(scope)).one()
    return [int(v or 0) for v in row]


def confusion(session: Session, scope: FromClause) -> dict[str, int]:
    """n, positives and the confusion counts of the labelled papers at THRESHOLD."""
    said, label = decision(scope.c.p), scope.c.label
    counts = {
        "n": func.count(),
        "positives": func.sum(label),
        "tp": func.sum(case((and_(said == 1, label == 1), 1), else_=0)),
        "fp": func.sum(case((and_(said == 1, label == 0), 1), else_=0)),
        "tn": func.sum(case((and_(said == 0, label == 0), 1), else_=0)),
        "fn": func.sum(case((and_(said == 0, label == 1), 1), else_=0)),
    }
    stmt = select(*(v.label(k) for k, v in counts.items())).where(label.is_not(None))
    row = session.execute(stmt).one()
    return {k: int(getattr(row, k) or 0) for k in counts}


def _roc_steps(scope: FromClause, points: int) -> CTE:
    """Per distinct P, highest first: its positives and negatives, the cumulative counts at
    or above it (the ROC point of that threshold), and which of ``points`` buckets it is in."""
    grouped = (
        select(
            scope.c.p,
            func.sum(scope.c.label).label("pos"),
            (func.count() - func.sum(scope.c.label)).label("neg"),
        )
        .where(scope.c.label.is_not(None))
        .group_by(scope.c.p)
        .cte("roc_groups")
    )
    down = grouped.c.p.desc()
    return select(
        grouped.c.p,
        grouped.c.pos,
        grouped.c.neg,
        func.sum(grouped.c.pos).over(order_by=down).label("tp"),
        func.sum(grouped.c.neg).over(order_by=down).label("fp"),
        func.ntile(points).over(order_by=down).label("bucket"),
    ).cte("roc_steps")


def roc(
    session: Session, scope: FromClause, points: int
) -> tuple[float | None, list[tuple[float, int, int]]]:
    """The area under the ROC curve's numerator (ties count half: the trapezoid rule, which
    is the Mann-Whitney statistic) and at most ``points`` curve points (threshold, tp, fp)."""
    steps = _roc_steps(scope, points)
    area = session.scalar(select(func.sum(steps.c.neg * (steps.c.tp - steps.c.pos / 2.0))))
    curve = session.execute(
        select(func.min(steps.c.p), func.max(steps.c.tp), func.max(steps.c.fp))
        .group_by(steps.c.bucket)
        .order_by(steps.c.bucket)
    ).all()
    return (None if area is None else float(area)), [
        (float(p), int(tp), int(fp)) for p, tp, fp in curve
    ]


def misclassified(session: Session, scope: FromClause, limit: int) -> list[dict[str, Any]]:
    """Labelled papers the model gets wrong, most confident first."""
    wrong = decision(scope.c.p) != scope.c.label
    rows = session.execute(
        select(scope.c.result_id, Paper.external_id, Paper.title, scope.c.p, scope.c.label)
        .select_from(scope)
        .join(Result, Result.id == scope.c.result_id)
        .join(Paper, Paper.id == Result.paper_id)
        .where(scope.c.label.is_not(None), wrong)
        .order_by(func.abs(scope.c.p - THRESHOLD).desc(), scope.c.result_id)
        .limit(limit)
    )
    keys = ("result_id", "external_id", "title", "probability", "label")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def title_words(dialect: str, scope: FromClause) -> Select[Any]:
    """(result_id, unit_index, word): each distinct word of each title unit, from the JSON."""
    base = scope.join(Result, Result.id == scope.c.result_id)
    units: FromClause
    tokens: FromClause
    if dialect == "postgresql":
        unit_list = Result.units["title"]["units"]
        listed = func.json_array_elements(unit_list).table_valued("value", with_ordinality="n")
        units = listed.render_derived().lateral("u")
        each = func.json_array_elements_text(units.c.value).table_valued("value")
        tokens = each.render_derived().lateral("t")
        index = units.c.n - 1
    else:
        units = func.json_each(Result.units, "$.title.units").table_valued("key", "value")
        units = units.alias("u")
        tokens = func.json_each(units.c.value).table_valued("value").alias("t")
        index = units.c.key
    stmt = select(scope.c.result_id, index.label("unit_index"), tokens.c.value.label("word"))
    # A word twice in one unit counts once there (one global DISTINCT: on PostgreSQL it
    # beats a DISTINCT per unit, whose subquery costs more than the sort).
    return stmt.select_from(base.join(units, true()).join(tokens, true())).distinct()


def _delta_means(rows: Select[Any], papers: Any, delta: Any) -> Select[Any]:
    """``papers`` counts distinct ``papers`` (a result id), or rows when it is None (each
    row a different paper: no COUNT(DISTINCT), which sorts)."""
    return rows.add_columns(
        (func.count() if papers is None else func.count(distinct(papers))).label("papers"),
        func.avg(delta).label("mean_delta"),
        func.avg(func.abs(delta)).label("mean_abs_delta"),
    )


def word_deltas(
    session: Session, words: FromClause, min_papers: int, limit: int
) -> list[dict[str, Any]]:
    """Per title word: papers, and the mean (and mean |.|) delta of the units that hold it."""
    on = and_(
        LooUnit.result_id == words.c.result_id,
        LooUnit.field == "title",
        LooUnit.unit_index == words.c.unit_index,
    )
    stmt = _delta_means(select(words.c.word), words.c.result_id, LooUnit.delta)
    stmt = (
        stmt.select_from(words)
        .join(LooUnit, on)
        .group_by(words.c.word)
        .having(func.count(distinct(words.c.result_id)) >= min_papers)
        .order_by(func.avg(func.abs(LooUnit.delta)).desc(), words.c.word)
        .limit(limit)
    )
    return [row._asdict() for row in session.execute(stmt)]


def abstract_units(scope: FromClause) -> Select[Any]:
    """Each result's abstract leave-one-out rows with their position from either end (the
    grid's columns are the abstract's units)."""
    return (
        select(
            LooUnit.result_id,
            LooUnit.delta,
            (LooUnit.unit_index + 1).label("from_start"),
            (scope.c.s - LooUnit.unit_index).label("from_end"),
        )
        .select_from(LooUnit)
        .join(scope, scope.c.result_id == LooUnit.result_id)
        .where(LooUnit.field == "abstract")
    )


def position_deltas(
    session: Session, rows: Select[Any], end: str, limit: int
) -> list[dict[str, Any]]:
    """Mean delta per position (``end``: from_start, 1 the first; from_end, 1 the last)."""
    units = rows.subquery()
    position = units.c[end]
    # A paper has one unit at each position: a row per paper.
    stmt = _delta_means(select(position.label("position")), None, units.c.delta)
    stmt = stmt.where(position <= limit).group_by(position).order_by(position)
    return [row._asdict() for row in session.execute(stmt)]


def flipping(session: Session, scope: FromClause) -> int:
    """Papers with a grid cell on the other side of THRESHOLD from the whole paper's P."""
    other = (
        select(literal(1))
        .where(GridCell.result_id == scope.c.result_id)
        .where(decision(GridCell.probability) != decision(scope.c.p))
        .exists()
    )
    return int(session.scalar(select(func.count()).select_from(scope).where(other)) or 0)


def grid_size(result_id: Any) -> tuple[Any, Any]:
    """A result's grid rows and columns as scalar subqueries the primary key answers in a
    probe each (max of a key column after an equality prefix), not a scan of its cells."""
    rows = select(func.max(GridCell.title_len)).where(GridCell.result_id == result_id)
    cols = select(func.max(GridCell.abstract_len)).where(
        GridCell.result_id == result_id, GridCell.title_len == 1
    )
    return rows.scalar_subquery(), cols.scalar_subquery()


def flip_edges(scope: FromClause) -> CompoundSelect[Any]:
    """(result_id, field, unit_index, from_end) where adding unit ``unit_index`` of
    ``field`` to its prefix, the other field whole, moves P across THRESHOLD: along the
    grid's last column for title units, its last row for abstract units, read in one scan
    of the cells. A field's first unit is never one (the grid has no empty prefix); the
    abstract's last (from_end 1) is the flip on the last sentence of ARCHITECTURE.md's query."""
    g = GridCell
    t, s = scope.c.t, scope.c.s
    edge = (
        select(g.result_id, g.title_len, g.abstract_len, decision(g.probability).label("d"), t, s)
        .select_from(g)
        .join(
            scope,
            and_(scope.c.result_id == g.result_id, or_(g.abstract_len == s, g.title_len == t)),
        )
        .cte("edge_cells")
    )
    e = edge.c
    sides = []
    for field, along, size, other, full in (
        ("title", e.title_len, e.t, e.abstract_len, e.s),
        ("abstract", e.abstract_len, e.s, e.title_len, e.t),
    ):
        change = e.d - func.lag(e.d).over(partition_by=e.result_id, order_by=along)
        steps = (
            select(
                e.result_id,
                literal(field).label("field"),
                (along - 1).label("unit_index"),
                (size - along + 1).label("from_end"),
                change.label("change"),
            )
            .where(other == full)
            .subquery()
        )
        sides.append(
            select(*(steps.c[k] for k in ("result_id", "field", "unit_index", "from_end"))).where(
                steps.c.change != 0
            )
        )
    return sides[0].union_all(sides[1])


def papers_in(session: Session, flips: FromClause, field: str) -> int:
    stmt = select(func.count(distinct(flips.c.result_id))).where(flips.c.field == field)
    return int(session.scalar(stmt) or 0)


def flip_words(
    session: Session, flips: FromClause, words: FromClause, limit: int
) -> list[dict[str, Any]]:
    """The title words whose unit flips the decision, by how many papers flip there."""
    papers = func.count(distinct(flips.c.result_id))
    on = and_(words.c.result_id == flips.c.result_id, words.c.unit_index == flips.c.unit_index)
    stmt = (
        select(words.c.word, papers.label("papers"))
        .select_from(flips)
        .join(words, on)
        .where(flips.c.field == "title")
        .group_by(words.c.word)
        .order_by(papers.desc(), words.c.word)
        .limit(limit)
    )
    return [row._asdict() for row in session.execute(stmt)]


def flip_positions(
    session: Session, flips: FromClause, end: str, limit: int
) -> list[dict[str, Any]]:
    """Papers flipping at each abstract position (from_start or from_end, 1-based)."""
    position = flips.c.unit_index + 1 if end == "from_start" else flips.c.from_end
    stmt = (
        select(position.label("position"), func.count(distinct(flips.c.result_id)).label("papers"))
        .where(flips.c.field == "abstract", position <= limit)
        .group_by(position)
        .order_by(position)
    )
    return [row._asdict() for row in session.execute(stmt)]
