"""Two jobs of one group (the same papers under two models) compared paper by paper, in SQL.

Each of job A's papers is paired with job B's result for the same paper (a job has one
result per paper, so the pairing is one-to-one): by submission order, positions agree
unless one model's vocabulary left a paper out, which pairing by paper survives. A paper
B left out is listed with no B result. The decision is P >= 0.5 (the positive class), as
in the corpus view; only pairs where both results are done are counted in the summary,
and the accuracy and ROC AUC on the labelled ones reuse the corpus view's SQL
(``corpus_queries.confusion`` and ``roc``), so both models are scored on the same papers.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Subquery, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from shared.models import JobItem, Paper, Result, ResultStatus
from shared.results import corpus_queries as q

SORTS = ("delta", "position")  # |ΔP| largest first (the default), or submission order
ROC_POINTS = 2  # the area is all this view needs of the curve
CSV_PAGE = 5000  # pairs read at a time for the CSV
CSV_COLUMNS = (
    "position", "external_id", "title", "label",
    "result_a", "status_a", "p_a", "decision_a",
    "result_b", "status_b", "p_b", "decision_b",
    "agree", "abs_delta_p",
)  # fmt: skip


@dataclass(frozen=True)
class Pair:
    """One paper: its result under each model (B's None when B left the paper out)."""

    position: int
    title: str
    external_id: str | None
    label: int | None
    a_id: int
    a_status: str
    a_p: float | None
    b_id: int | None
    b_status: str | None
    b_p: float | None

    @property
    def both_done(self) -> bool:
        return self.a_status == ResultStatus.DONE and self.b_status == ResultStatus.DONE

    def decision(self, p: float | None) -> int | None:
        return None if p is None or not self.both_done else int(p >= q.THRESHOLD)

    @property
    def agree(self) -> bool | None:
        return self.decision(self.a_p) == self.decision(self.b_p) if self.both_done else None

    @property
    def delta(self) -> float | None:
        """|ΔP|, once both are done."""
        if not self.both_done or self.a_p is None or self.b_p is None:
            return None
        return abs(self.b_p - self.a_p)


def _pairs(job_a: int, job_b: int) -> Subquery:
    """Job A's items with their paper, A's result and B's result for the same paper."""
    ra, rb = aliased(Result), aliased(Result)
    b_of = (
        select(Result.paper_id, Result.id)
        .join(JobItem, JobItem.result_id == Result.id)
        .where(JobItem.job_id == job_b)
        .distinct()
        .subquery("b_results")
    )
    return (
        select(
            JobItem.position,
            Paper.title,
            Paper.external_id,
            JobItem.label,
            ra.id.label("a_id"),
            ra.status.label("a_status"),
            ra.probability.label("a_p"),
            rb.id.label("b_id"),
            rb.status.label("b_status"),
            rb.probability.label("b_p"),
        )
        .join(ra, ra.id == JobItem.result_id)
        .join(Paper, Paper.id == ra.paper_id)
        .outerjoin(b_of, b_of.c.paper_id == ra.paper_id)
        .outerjoin(rb, rb.id == b_of.c.id)
        .where(JobItem.job_id == job_a)
        .subquery("pairs")
    )


def count_pairs(session: Session, job_a: int, job_b: int) -> int:
    return int(session.scalar(select(func.count()).select_from(_pairs(job_a, job_b))) or 0)


def pairs(
    session: Session, job_a: int, job_b: int, sort: str = "delta", page: int = 1,
    per_page: int | None = None,
) -> list[Pair]:  # fmt: skip
    """One page of pairs (every pair when ``per_page`` is None): by |ΔP|, largest first
    (pairs not both done last), or by position."""
    rows = _pairs(job_a, job_b)
    both = and_(rows.c.a_status == ResultStatus.DONE, rows.c.b_status == ResultStatus.DONE)
    delta = case((both, func.abs(rows.c.b_p - rows.c.a_p)))
    order = [rows.c.position] if sort == "position" else [
        case((delta.is_(None), 1), else_=0), delta.desc(), rows.c.position
    ]  # fmt: skip
    query = select(rows).order_by(*order)
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return [Pair(**row._mapping) for row in session.execute(query)]


def summary(session: Session, job_a: int, job_b: int) -> dict[str, Any]:
    """What the comparison says overall: counts, agreement, each model's positives, mean
    |ΔP|, Pearson's r of the two P, and each model's accuracy and ROC AUC on the labelled
    papers (None without labels of both classes)."""
    rows = _pairs(job_a, job_b)
    both = and_(rows.c.a_status == ResultStatus.DONE, rows.c.b_status == ResultStatus.DONE)
    done = select(rows).where(both).subquery("done")
    n, agree, pos_a, pos_b, mean_delta, *sums = _sums(session, done)
    papers = int(session.scalar(select(func.count()).select_from(rows)) or 0)
    return {
        "papers": papers,
        "compared": n,
        "not_compared": papers - n,  # pending, failed, or left out by one model
        "agree": agree,
        "agree_share": agree / n if n else None,
        "positives": {"a": pos_a, "b": pos_b},
        "mean_abs_delta": mean_delta,
        "pearson": _pearson(n, *sums),
        "labels": _labelled(session, done),
    }


def _sums(session: Session, done: Subquery) -> list[Any]:
    """n, agreements, each model's positives, mean |ΔP| (None if n is 0), then the sums
    Pearson's r is made of: x, y, x², y², xy."""
    x, y = done.c.a_p, done.c.b_p
    dx, dy = q.decision(x), q.decision(y)
    counts = [func.count(), func.sum(case((dx == dy, 1), else_=0)), func.sum(dx), func.sum(dy)]
    sums = [func.sum(x), func.sum(y), func.sum(x * x), func.sum(y * y), func.sum(x * y)]
    row = session.execute(select(*counts, func.avg(func.abs(y - x)), *sums)).one()
    mean = None if row[4] is None else float(row[4])
    return [*(int(v or 0) for v in row[:4]), mean, *(float(v or 0) for v in row[5:])]


def _pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    """Pearson's r from the sums (None for fewer than two pairs, or a constant P)."""
    if n < 2:
        return None
    cov, vx, vy = n * sxy - sx * sy, n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    return max(-1.0, min(1.0, cov / math.sqrt(vx * vy)))


def _labelled(session: Session, done: Any) -> dict[str, Any] | None:
    """Each model's accuracy and ROC AUC on the labelled papers both scored."""
    scores: dict[str, Any] = {}
    for side in ("a", "b"):
        scope = select(done.c[f"{side}_p"].label("p"), done.c.label).subquery(f"scope_{side}")
        counts = q.confusion(session, scope)
        if not counts["n"]:
            return None
        pos, neg = counts["positives"], counts["n"] - counts["positives"]
        area, _ = q.roc(session, scope, ROC_POINTS)
        auc = area / (pos * neg) if pos and neg and area is not None else None
        accuracy = (counts["tp"] + counts["tn"]) / counts["n"]
        scores[side] = {"accuracy": accuracy, "roc_auc": auc}
    return {"n": counts["n"], **scores}


def _in_order(session: Session, job_a: int, job_b: int) -> Iterator[Pair]:
    """Every pair in submission order, read a page at a time (constant memory)."""
    page = 1
    while batch := pairs(session, job_a, job_b, "position", page, CSV_PAGE):
        yield from batch
        if len(batch) < CSV_PAGE:
            return
        page += 1


def pairs_csv(session: Session, job_a: int, job_b: int) -> Iterator[str]:
    """Every pair, in submission order, as CSV text (a header, then a line each)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p in _in_order(session, job_a, job_b):
        writer.writerow([
            p.position, p.external_id or "", p.title, "" if p.label is None else p.label,
            p.a_id, p.a_status, _num(p.a_p, p.a_status), _blank(p.decision(p.a_p)),
            p.b_id or "", p.b_status or "", _num(p.b_p, p.b_status), _blank(p.decision(p.b_p)),
            _blank(None if p.agree is None else int(p.agree)), _num(p.delta, "done"),
        ])  # fmt: skip
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.getvalue():
        yield out.getvalue()


def _num(value: float | None, status: str | None) -> str:
    """A P only for a done result: a pending or failed one has none to show."""
    return "" if value is None or status != ResultStatus.DONE else f"{value:.6f}"


def _blank(value: int | None) -> str | int:
    return "" if value is None else value
