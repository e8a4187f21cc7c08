"""The difference view of two results (an edit and the result it revises, or any two on the
compare page): both heat maps on one colour scale, the cell-wise difference where the units
still correspond (``shared.results.difference``), and the units added, removed or changed.

Colours are classes (``p-k``, results.css) as on the heat map: blue where the newer result
is higher, red where it is lower, grey (``hm-none``) for a cell with no counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.models import Result, ResultStatus
from shared.results.difference import FIELDS, Block, Difference, difference
from shared.results.revisions import revised_as, revises
from shared.results.stored import team_result
from shared.scales import Scale, signed
from web.downloads import explain_json
from web.extensions import db
from web.pages.result_view import Heatmap, col_label, colour_class, heatmap, shared_half, short
from web.session import current_team_id

# The least half-range of the difference colours, so that noise stays pale.
FLOORS = {Scale.P: 0.01, Scale.LOGODDS: 0.1}


@dataclass
class DifferenceView:
    old: Result
    new: Result
    heatmaps: tuple[Heatmap, Heatmap]  # old, new: one colour scale, one range
    rows: list[dict[str, Any]]  # the difference grid, display order (whole title on top)
    cols: list[str]
    scale: Scale
    half: float
    compared: int
    cells: int
    changes: dict[str, dict[str, Any]]  # per field: runs of units and counts
    p_change: float
    columns_move_together: bool  # say why every row of a column shows the same difference

    @property
    def models_alone(self) -> bool:
        """One text under two models (the same units): no edit to list, every cell is
        compared with the same cell, and each difference is the models' alone."""
        same = all(
            c["counts"]["same"] == sum(c["counts"].values()) and not c["recut"]
            for c in self.changes.values()
        )
        return same and self.old.model_id != self.new.model_id


def difference_view(old: Result, new: Result, colours: Scale) -> DifferenceView | None:
    """The view of ``new`` against ``old``, or None until both are done."""
    if old.status != ResultStatus.DONE or new.status != ResultStatus.DONE:
        return None
    explains = explain_json(old), explain_json(new)
    diff = difference(*explains, colours)
    half = shared_half(colours, *explains)
    maps = heatmap(explains[0], colours, half), heatmap(explains[1], colours, half)
    spread = max(FLOORS[diff.scale], diff.largest())
    unit = explains[1]["units"]["abstract"]
    changes = {f: _changes(diff.blocks[f], explains, f) for f in FIELDS}
    return DifferenceView(
        old,
        new,
        maps,
        _rows(diff, explains[1], spread),
        [col_label(unit, j, text) for j, text in enumerate(explains[1]["labels"]["abstract"])],
        diff.scale,
        spread,
        diff.compared,
        int(diff.cells.size),
        changes,
        float(new.probability or 0.0) - float(old.probability or 0.0),
        _columns_move_together(diff, changes["title"], old.model_id == new.model_id),
    )


def _columns_move_together(diff: Difference, title: dict[str, Any], one_model: bool) -> bool:
    """In log-odds the model adds the fields' scores (they meet only in its linear head), so
    with the title and the model unchanged every row of a column differs by one amount."""
    return (
        diff.scale is Scale.LOGODDS
        and one_model
        and title["counts"]["same"] == sum(title["counts"].values())
    )


def _rows(diff: Difference, new: dict[str, Any], spread: float) -> list[dict[str, Any]]:
    titles = new["labels"]["title"]
    rows = []
    for i in reversed(range(diff.cells.shape[0])):
        cells = [_cell(diff, i, j, spread) for j in range(diff.cells.shape[1])]
        rows.append({"label": short(titles[i] if i == 0 else f"+ {titles[i]}"), "cells": cells})
    return rows


def _cell(diff: Difference, i: int, j: int, spread: float) -> dict[str, str]:
    where = f"title units 1–{i + 1}, abstract units 1–{j + 1}"  # noqa: RUF001
    value = float(diff.cells[i, j])
    if np.isnan(value):
        tip = f"{where}: ends inside an edit, so no cell of the other result reads the same"
        return {"cls": "hm-none", "text": "", "tip": tip}
    name = "P" if diff.scale is Scale.P else "log-odds"
    text = signed(value, 2, max_decimals=3) if diff.scale is Scale.P else signed(value, 1, True)
    same = " (the same text: only the model can differ)" if diff.same_text[i, j] else ""
    tip = f"{where}: {name} {signed(value, 3, fixed=diff.scale is Scale.LOGODDS)}{same}"
    return {"cls": colour_class(0.5 + value / (2 * spread)), "text": text, "tip": tip}


def _changes(
    blocks: list[Block], explains: tuple[dict[str, Any], dict[str, Any]], field: str
) -> dict[str, Any]:
    """A field's runs of units as the page lists them, and how many of each kind."""
    old, new = (e["labels"][field] for e in explains)
    unit = explains[1]["units"][field]
    runs, counts = [], {"same": 0, "added": 0, "removed": 0, "changed": 0}
    for block in blocks:
        counts[block.kind] += max(len(block.old), len(block.new))
        runs.append(
            {
                "kind": block.kind,
                "old": [old[k] for k in block.old],
                "new": [new[k] for k in block.new],
                "where": _where(block, unit),
            }
        )
    units_changed = explains[0]["units"][field] != unit
    return {"runs": runs, "counts": counts, "unit": unit, "recut": units_changed}


def _where(block: Block, unit: str) -> str:
    """Where a run sits in the new version, e.g. "sentences 3 to 4" or "after word 2"."""
    name = unit
    if not block.new:
        return f"after {name} {block.new.start}" if block.new.start else "at the start"
    first, last = block.new.start + 1, block.new.stop
    return f"{name} {first}" if first == last else f"{name}s {first}–{last}"  # noqa: RUF001


def revision_context(result: Result, colours: Scale) -> dict[str, Any]:
    """What the result page shows of its revisions: the results it edits (latest first),
    the edits made of it, and the difference from the latest one it edits."""
    team_id = current_team_id()
    edits_of = revises(db.session, team_id, result.id)
    older = team_result(db.session, team_id, edits_of[0]) if edits_of else None
    return {
        "revises": edits_of,
        "revised_as": revised_as(db.session, team_id, result.id),
        "revision": difference_view(older, result, colours) if older else None,
    }
