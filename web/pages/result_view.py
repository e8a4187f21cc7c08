"""What the result page draws, computed from the explain JSON: heat-map cells, coloured text.

Colours are classes (``p-0`` … ``p-100``, results.css), never inline styles: the CSP allows
no ``style`` attribute. ``p-k`` is the RdBu colour k/100 of the way from red to blue: P = k/100
on the P scale, and the place of a cell's value on the range of its scale
(``shared.scales``, the same math as the PNG and SVG) on the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.scales import BOUNDARY, GridView, Scale, extent, transform, view

LABEL_CHARS = 22
# Cell sizes by number of columns (results.css .hm-l/.hm-m/.hm-s): beyond 8 columns large
# cells overflow a laptop's half of the page (so the grid gets the page's width, in medium
# cells), beyond 40 even medium ones need a scroll.
DENSITIES = ((8, "l"), (40, "m"))
TICK_EVERY = 10  # in the condensed ("fit") view only every tenth column keeps its label
_WORD = re.compile(r"\S+")
_STRIP = re.compile(r"^\W+|\W+$")


def colour_class(position: float) -> str:
    """The class of a place on the diverging map, 0 (red) to 1 (blue)."""
    return f"p-{round(min(1.0, max(0.0, position)) * 100)}"


def short(text: str, limit: int = LABEL_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass
class Cell:
    i: int
    j: int
    p: float
    cls: str
    edges: str
    label: str
    tip: str  # P and the scale's value: "P = 0.0150 · log-odds -4.18"
    text: str  # the value printed in the cell


@dataclass
class Heatmap:
    rows: list[dict[str, Any]]  # display order: the whole title on top, row 0 at the bottom
    cols: list[dict[str, str]]
    row_axis: str
    col_axis: str
    scale: GridView
    data: dict[str, Any] = field(default_factory=dict)
    density: str = "l"  # the cell size the page starts with: l, m or s

    @property
    def whole(self) -> Cell:
        """The top-right cell, the whole paper: the first row shown, its last cell."""
        cell: Cell = self.rows[0]["cells"][-1]
        return cell


def density(n_cols: int) -> str:
    return next((name for most, name in DENSITIES if n_cols <= most), "s")


def col_label(unit: str, j: int, text: str) -> str:
    return short(f"S{j + 1} {text}") if unit == "sentence" else short(text)


def grid_of(explain: dict[str, Any]) -> np.ndarray:
    return np.asarray(explain["probabilities"], dtype=float)


def shared_half(scale: Scale, *explains: dict[str, Any]) -> float | None:
    """One colour range for several heat maps, so equal colours mean equal values."""
    halves = [extent(transform(grid_of(e), scale), scale) for e in explains]
    return max(halves, default=None)


def heatmap(explain: dict[str, Any], scale: Scale, half: float | None = None) -> Heatmap:
    """Cells with their colour class on ``scale``, boundary edges and accessible label, rows
    top-down; ``half`` shares one colour range across heat maps (compare)."""
    grid: list[list[float]] = explain["probabilities"]
    seen = view(grid_of(explain), scale, half)
    t_labels, a_labels = explain["labels"]["title"], explain["labels"]["abstract"]
    t_unit, a_unit = explain["units"]["title"], explain["units"]["abstract"]
    rows = []
    for i in reversed(range(len(grid))):
        cells = [_cell(seen, i, j, t_labels, a_labels, a_unit) for j in range(len(grid[i]))]
        added = t_labels[i] if i == 0 else f"+ {t_labels[i]}"
        rows.append({"i": i, "label": short(added), "full": t_labels[i], "cells": cells})
    last = len(a_labels) - 1
    cols = [
        {
            "label": col_label(a_unit, j, text),
            "full": text,
            "tick": j % TICK_EVERY == TICK_EVERY - 1 or j in (0, last),
        }
        for j, text in enumerate(a_labels)
    ]
    data = {"title": t_labels, "abstract": a_labels, "grid": grid, "units": [t_unit, a_unit]}
    axes = f"Title, {t_unit} by {t_unit}", f"Abstract, {a_unit} by {a_unit}"
    return Heatmap(rows, cols, *axes, seen, data, density(len(a_labels)))


def _cell(seen: GridView, i: int, j: int, t: list[str], a: list[str], a_unit: str) -> Cell:
    grid = seen.grid
    p = float(grid[i, j])
    side = p >= BOUNDARY
    edges = []
    # Row 0 is drawn at the bottom, so the row above in the picture is i + 1.
    if i + 1 < grid.shape[0] and (grid[i + 1, j] >= BOUNDARY) != side:
        edges.append("edge-top")
    if j + 1 < grid.shape[1] and (grid[i, j + 1] >= BOUNDARY) != side:
        edges.append("edge-right")
    unit = "sentences" if a_unit == "sentence" else "words"
    tip = seen.describe(i, j)
    if (i, j) == (grid.shape[0] - 1, grid.shape[1] - 1):
        tip += " · the whole paper"
    label = (
        f"Title words 1–{i + 1} (to “{short(t[i])}”), abstract {unit} 1–{j + 1} "  # noqa: RUF001
        f"(to “{short(a[j])}”): {tip}"
    )
    cls = colour_class(float(seen.positions[i, j]))
    return Cell(i, j, p, cls, " ".join(edges), label, tip, seen.cell_text(i, j))


def delta_scale(*explains: dict[str, Any]) -> float:
    """The largest |delta P| of leave-one-out over the results shown (at least 0.01)."""
    deltas = [
        abs(d)
        for e in explains
        if e.get("leave_one_out")
        for values in e["leave_one_out"].values()
        for d in values
    ]
    return max([0.01, *deltas])


def loo_text(explain: dict[str, Any], field_name: str, scale: float) -> list[dict[str, Any]]:
    """Each unit of a field with its delta, colour class and any skipped (unknown) words."""
    labels = explain["labels"][field_name]
    deltas = explain["leave_one_out"].get(field_name, [])
    units = explain[f"{field_name}_units"]
    skipped = set(explain["skipped"].get(field_name, []))
    out = []
    for u, text in enumerate(labels):
        d = deltas[u] if u < len(deltas) else 0.0
        unknown = bool(units[u]) and all(t in skipped for t in units[u])
        words = [
            {"text": w, "skipped": _STRIP.sub("", w).lower() in skipped}
            for w in _WORD.findall(text)
        ]
        out.append(
            {
                "delta": d,
                # A unit whose removal lowers P pushes towards "computational": blue.
                "cls": colour_class(BOUNDARY - BOUNDARY * d / scale),
                "unknown": unknown,
                "words": words,
                "label": f"{text}: removing it changes P by {d:+.4f}"
                + (" (unknown to the model, skipped)" if unknown else ""),
            }
        )
    return out


def legend_stops(scale: float) -> list[str]:
    """Legend labels, red to blue: delta P when removed runs from +scale down to -scale."""
    return [f"{scale:+.3f}", f"{scale / 2:+.3f}", "0", f"{-scale / 2:+.3f}", f"{-scale:+.3f}"]
