"""The corpus view's faithfulness section: how faithful the scope's explanations are, taken
together, beside what random rankings of the same units would score.

From each done result's stored ``faithfulness`` (``results.faithfulness``: the engine's AOPC
of comprehensiveness and sufficiency, and the minimal flip), in SQL: how many results have
it, the mean of each AOPC and its distribution (10 bins on [-0.5, 1]: P_c(full) is at least
0.5, so a deletion moves P_c by at most that down and 1 up), and how many explanations flip
the decision by deleting their top units, with the mean number it takes. A job's view adds
its ``random_baseline`` (shared/results/baseline.py): explanations whose top units matter
score well above it in comprehensiveness (deleting them costs more than deleting random
units) and below it in sufficiency (keeping them alone keeps more).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, FromClause, and_, case, func, select
from sqlalchemy.orm import Session

from shared.models import Result

EDGES = np.linspace(-0.5, 1.0, 11).round(6).tolist()
AOPC = ("aopc_comprehensiveness", "aopc_sufficiency")


def _binned(value: ColumnElement[Any], edges: list[float]) -> list[ColumnElement[Any]]:
    """One count per bin [lo, hi), the last closed; values outside are clipped in."""
    last = len(edges) - 2
    bins: list[ColumnElement[Any]] = []
    for k, (lo, hi) in enumerate(pairwise(edges)):
        above = value >= lo if k else value.is_not(None)
        below = value < hi if k < last else value.is_not(None)
        bins.append(func.sum(case((and_(above, below), 1), else_=0)))
    return bins


def faithfulness_summary(session: Session, scope: FromClause) -> dict[str, Any]:
    stored = Result.faithfulness
    aopc = {k: stored["faithfulness"][k].as_float() for k in AOPC}
    flip_k = stored["minimal_flip"]["k"].as_integer()
    rows = (
        select(*(v.label(k) for k, v in aopc.items()), flip_k.label("flip_k"))
        .join(scope, scope.c.result_id == Result.id)
        .subquery()
    )
    columns: list[ColumnElement[Any]] = [
        func.count(rows.c.aopc_comprehensiveness),
        func.count(rows.c.flip_k),
        func.avg(rows.c.flip_k),
    ]
    for k in AOPC:
        columns += [func.avg(rows.c[k]), *_binned(rows.c[k], EDGES)]
    n, flipped, mean_k, *rest = session.execute(select(*columns)).one()
    out: dict[str, Any] = {"n": int(n or 0), "edges": EDGES}
    width = len(EDGES)  # the mean, then len(EDGES) - 1 counts
    for i, k in enumerate(AOPC):
        mean, *counts = rest[i * width : (i + 1) * width]
        out[k] = {"mean": _round(mean), "counts": [int(c or 0) for c in counts]}
    out["minimal_flip"] = {"papers": int(flipped or 0), "mean_k": _round(mean_k)}
    return out


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)
