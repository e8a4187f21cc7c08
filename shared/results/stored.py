"""A stored result as ``occlab explain --format json`` shows it, and as a heat map.

Everything is rebuilt from SQL rows (the result, its grid cells, its leave-one-out units), so
the web process serves explanations without the model, torch or the engine. The keys match
``shared.engine.export.to_json``; a result that is not done yet has them all as null.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.figures import render_contributions, render_loo
from shared.heatmap import render_heatmap
from shared.models import GridCell, Job, JobItem, LooUnit, Result, ResultStatus
from shared.scales import DEFAULT
from shared.text import csv_text

# The keys of ``occlab explain --format json``, in its order.
EXPLAIN_KEYS = (
    "probability",
    "probabilities",
    "fields",
    "units",
    "title_units",
    "abstract_units",
    "labels",
    "leave_one_out",
    "skipped",
    "read_as_nothing",
    "left_out",
    "model",
    "faithfulness",
    "minimal_flip",
    "activations",
)
DIGITS = 6  # as the CLI rounds, so the API and `occlab explain` print the same numbers


class IncompleteResult(RuntimeError):
    """A result marked done whose rows are missing: the database was edited by hand."""


class NoFigure(LookupError):
    """The result has nothing to draw in this figure (no contributions stored)."""


def team_result(session: Session, team_id: int, result_id: int) -> Result | None:
    """Result ``result_id`` if it belongs to ``team_id``: another team's result is as absent
    as one that does not exist."""
    return session.scalar(select(Result).where(Result.id == result_id, Result.team_id == team_id))


def result_label(session: Session, result: Result, job_id: int | None = None) -> int | None:
    """The paper's label (a class index) as submitted: in job ``job_id``, that job's item's
    (the first labelled one, should the job hold the text twice); without a job, the label
    of the team's most recent job that labelled it. None when no such item has one."""
    stmt = (
        select(JobItem.label)
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.result_id == result.id, Job.team_id == result.team_id)
        .where(JobItem.label.is_not(None))
    )
    if job_id is not None:
        stmt = stmt.where(JobItem.job_id == job_id).order_by(JobItem.position)
    else:
        stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc(), JobItem.position)
    return session.scalar(stmt.limit(1))


def labelled_view(view: str, label: int | None) -> str:
    """The cache key of a JSON view carrying ``label``: the bytes differ by label only."""
    return view if label is None else f"{view}.label-{label}"


def json_views(*views: str) -> tuple[str, ...]:
    """Every cache key of these JSON views, one per label (to forget them all)."""
    return tuple(labelled_view(v, label) for v in views for label in (None, 0, 1))


def result_json(
    session: Session, result: Result, html_url: str, label: int | None = None
) -> dict[str, Any]:
    """The explain JSON plus id, status, error, ``traces_status``, paper (with ``label``, see
    :func:`result_label`) and ``html_url``, the address of its page (the web app's to say:
    its routes are not known here)."""
    data: dict[str, Any] = {"id": result.id, "status": result.status, "error": result.error}
    data["traces_status"] = result.traces_status
    data.update(dict.fromkeys(EXPLAIN_KEYS))
    data["model"] = {"name": result.model.name, "version": result.model.version}
    if result.status == ResultStatus.DONE:
        data.update(_explanation(session, result))
    data["paper"] = {
        "title": result.paper.title,
        "abstract": result.paper.abstract,
        "external_id": result.paper.external_id,
        "label": label,
    }
    data["html_url"] = html_url
    return data


def _explanation(session: Session, result: Result) -> dict[str, Any]:
    units = _units(result)
    fields = list(units)
    grid = grid_probabilities(session, result)
    return {
        "probability": _round(result.probability),
        "probabilities": np.round(grid, DIGITS).tolist(),
        "fields": fields,
        "units": {f: units[f]["unit"] for f in fields},
        "title_units": units["title"]["units"],
        "abstract_units": units["abstract"]["units"],
        "labels": {f: units[f]["labels"] for f in fields},
        "leave_one_out": leave_one_out(session, result, fields),
        "skipped": result.skipped or {f: [] for f in fields},
        "read_as_nothing": _read_as_nothing(units, result.skipped or {}),
        "left_out": {f: units[f].get("left_out", []) for f in fields},
        # Null for results computed before faithfulness was (no such column value).
        "faithfulness": (result.faithfulness or {}).get("faithfulness"),
        "minimal_flip": (result.faithfulness or {}).get("minimal_flip"),
        "activations": result.activations,
    }


def _read_as_nothing(units: dict[str, dict[str, Any]], skipped: dict[str, Any]) -> list[str]:
    """Fields with no word the model knows: scored as if empty (their one unit is skipped,
    or has no tokens: the field was only a placeholder)."""
    out = []
    for f, stored in units.items():
        tokens = [t for unit in stored["units"] for t in unit]
        if set(tokens) <= set(skipped.get(f, [])):
            out.append(f)
    return out


def _units(result: Result) -> dict[str, dict[str, Any]]:
    """The per-field units in the model's field order (title, then abstract)."""
    stored = result.units or {}
    order = [f for f in result.model.fields if f in stored]
    if order != ["title", "abstract"]:
        raise IncompleteResult(f"result {result.id} has units for {sorted(stored)}")
    return {f: stored[f] for f in order}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def grid_probabilities(session: Session, result: Result) -> np.ndarray:
    """The T x S grid: cell (i, j) is P for the first i+1 title and j+1 abstract units."""
    units = _units(result)
    shape = (len(units["title"]["units"]), len(units["abstract"]["units"]))
    grid = np.full(shape, np.nan)
    rows = session.execute(
        select(GridCell.title_len, GridCell.abstract_len, GridCell.probability).where(
            GridCell.result_id == result.id
        )
    )
    for title_len, abstract_len, probability in rows:
        if title_len <= shape[0] and abstract_len <= shape[1]:
            grid[title_len - 1, abstract_len - 1] = probability
    missing = int(np.isnan(grid).sum())
    if missing:
        raise IncompleteResult(f"result {result.id} lacks {missing} of {grid.size} grid cells")
    return grid


def leave_one_out(session: Session, result: Result, fields: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {f: [] for f in fields}
    rows = session.execute(
        select(LooUnit.field, LooUnit.delta)
        .where(LooUnit.result_id == result.id)
        .order_by(LooUnit.field, LooUnit.unit_index)
    )
    for field, delta in rows:
        out.setdefault(field, []).append(round(float(delta), DIGITS))
    return out


def render_result(
    session: Session,
    result: Result,
    fmt: str,
    scale: str = DEFAULT,
    *,
    figure: str = "heatmap",
    dpi: int = 150,
    title: bool = True,
) -> bytes:
    """One figure of a done result as PNG or SVG: the heat map on ``scale`` (as ``occlab
    explain --out x.png`` draws it), the leave-one-out text or the contributions; ``title``
    False leaves the paper's title and P off."""
    if result.status != ResultStatus.DONE or result.probability is None:
        raise IncompleteResult(f"result {result.id} is {result.status}, not done")
    heading = result.paper.title if title else None
    if figure == "loo":
        fields = loo_fields(session, result)
        return render_loo(fields, title=heading, probability=result.probability, fmt=fmt, dpi=dpi)
    if figure == "contributions":
        top = (result.activations or {}).get("top_features") or []
        if not top:
            raise NoFigure(f"result {result.id} stores no feature contributions")
        bias = (result.activations or {}).get("bias")
        return render_contributions(top, title=heading, probability=result.probability,
                                    bias=bias, fmt=fmt, dpi=dpi)  # fmt: skip
    units = _units(result)
    rows, cols = units["title"], units["abstract"]
    return render_heatmap(
        grid_probabilities(session, result),
        rows["labels"],
        cols["labels"],
        heading=heading,
        probability=result.probability,
        row_axis=f"Title, {rows['unit']} by {rows['unit']}",
        col_axis=f"Abstract, {cols['unit']} by {cols['unit']}",
        col_unit=cols["unit"],
        fmt=fmt,
        dpi=dpi,
        scale=scale,
    )


def loo_fields(session: Session, result: Result) -> dict[str, list[tuple[str, float, bool]]]:
    """Each field's units as (label, change in P when removed, unknown to the model)."""
    units = _units(result)
    deltas = leave_one_out(session, result, list(units))
    skipped = result.skipped or {}
    out = {}
    for f, stored in units.items():
        known = set(skipped.get(f, []))
        out[f] = [
            (label, d, bool(tokens) and set(tokens) <= known)
            for label, d, tokens in zip(stored["labels"], deltas[f], stored["units"], strict=False)
        ]
    return out


def grid_csv(session: Session, result: Result) -> str:
    """The grid in long form, one row per cell, as ``occlab explain --format csv`` writes it."""
    if result.status != ResultStatus.DONE:
        raise IncompleteResult(f"result {result.id} is {result.status}, not done")
    units = _units(result)
    rows, cols = units["title"]["labels"], units["abstract"]["labels"]
    grid = grid_probabilities(session, result)
    header = ["title_prefix", "abstract_prefix", "title_added", "abstract_added", "probability"]
    cells = (
        [i + 1, j + 1, row_label, col_label, f"{grid[i, j]:.6f}"]
        for i, row_label in enumerate(rows)
        for j, col_label in enumerate(cols)
    )
    return csv_text([header, *cells])
