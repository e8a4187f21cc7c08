"""The occlusion grid as a publication-quality heat map (the seed report's Figure 2).

Imported by the web process, so it must never import torch or gensim, and it never touches
pyplot: every call builds its own ``Figure`` and Agg canvas, which keeps it thread-safe.
"""

from __future__ import annotations

import math
import numbers
import textwrap
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, QuadMesh
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from shared.figures import check_options, save
from shared.figures import heading as heading_text
from shared.scales import BOUNDARY, DEFAULT, GridView, Scale, format_p, parse_scale, view

__all__ = ["render_heatmap"]

COL_UNITS = ("sentence", "word")
MAX_ANNOTATED = 20  # beyond this many rows or columns, printed values become unreadable
LABEL_CHARS = 24
ELLIPSIS = "…"

_CMAP = matplotlib.colormaps["RdBu"]  # red = low, blue = high, white at the scale's centre
_TICK_GAP_IN = 0.17  # vertical room one 8 pt tick label needs
_CHAR_IN = 0.062  # rough width of one 8 pt character, for margin estimates
_BOUNDARY_COLOUR = "#111111"


@dataclass(frozen=True)
class _Layout:
    fig_w: float
    fig_h: float
    axes_h: float
    annotate: bool
    boundary_width: float
    row_stride: int
    col_stride: int
    col_rotation: int
    tick_size: float


def render_heatmap(
    probabilities: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    *,
    heading: str | None,
    probability: float,
    row_axis: str = "Title, word by word",
    col_axis: str = "Abstract, sentence by sentence",
    col_unit: str = "sentence",
    fmt: str = "png",
    dpi: int = 150,
    scale: str = DEFAULT,
) -> bytes:
    """Render the occlusion grid; ``probabilities[i, j]`` is P for rows ``0..i`` and cols ``0..j``.

    Row 0 sits at the bottom and column 0 at the left, so the lower-left cell is the smallest
    prefix pair and the upper-right cell the whole paper. ``scale`` (shared.scales) chooses
    what the colours show; ``heading`` None leaves the title (and P) off, for a caption to
    say. Returns PNG or SVG bytes (shared.figures.save: the dpi in a PNG, text in an SVG).
    """
    _check_options(probability, col_unit, fmt, dpi)
    chosen = parse_scale(scale)
    if chosen is None:
        raise ValueError(f"scale must be one of {', '.join(Scale)}; got {scale!r}")
    grid = view(_check_grid(probabilities, row_labels, col_labels), chosen)
    rows = _unit_labels(row_labels)
    cols = _sentence_labels(col_labels) if col_unit == "sentence" else _unit_labels(col_labels)
    layout = _layout(grid.grid.shape, rows, cols, titled=bool(heading))
    fig = Figure(figsize=(layout.fig_w, layout.fig_h), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _draw_grid(fig, ax, grid, layout)
    _draw_ticks(ax, rows, cols, layout)
    ax.set_ylabel(row_axis, fontsize=9.5, parse_math=False)
    ax.set_xlabel(col_axis, fontsize=9.5, parse_math=False)
    if heading:
        wrap = max(30, int(layout.fig_w * 11))  # about 11 heading characters per inch
        text = textwrap.fill(heading_text(heading, probability), width=wrap)
        fig.suptitle(text, fontsize=11, parse_math=False)
    return save(fig, fmt, int(dpi))


def _check_options(probability: float, col_unit: str, fmt: str, dpi: int) -> None:
    """Fail on a bad request with a clear message rather than a broken or odd plot."""
    check_options(fmt, dpi)
    if col_unit not in COL_UNITS:
        raise ValueError(f"col_unit must be one of {', '.join(COL_UNITS)}; got {col_unit!r}")
    real = isinstance(probability, numbers.Real) and not isinstance(probability, bool)
    if not (real and 0.0 <= float(probability) <= 1.0):
        raise ValueError(f"probability must be a number in [0, 1]; got {probability!r}")


def _check_grid(
    probabilities: np.ndarray, row_labels: list[str], col_labels: list[str]
) -> np.ndarray:
    try:
        grid = np.asarray(probabilities, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"probabilities must be numeric: {error}") from error
    if grid.ndim != 2 or 0 in grid.shape:
        raise ValueError(f"probabilities must be a non-empty 2-D array; got shape {grid.shape}")
    expected = (len(row_labels), len(col_labels))
    if grid.shape != expected:
        raise ValueError(
            f"probabilities has shape {grid.shape} but there are {expected[0]} row labels "
            f"and {expected[1]} column labels"
        )
    if not np.isfinite(grid).all():
        raise ValueError("probabilities must all be finite (found NaN or infinity)")
    if grid.min() < 0.0 or grid.max() > 1.0:
        raise ValueError(f"probabilities must lie in [0, 1]; found {grid.min()} to {grid.max()}")
    return grid


def _truncate(text: str, limit: int = LABEL_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    # End on a whole word when that keeps most of the label; half-words read as typos.
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


def _unit_labels(words: list[str]) -> list[str]:
    """Each prefix is named by the unit it adds; the first prefix is just that unit."""
    return [_truncate(w if i == 0 else f"+ {w}") for i, w in enumerate(words)]


def _sentence_labels(sentences: list[str]) -> list[str]:
    return [_truncate(f"S{i + 1} {s}") for i, s in enumerate(sentences)]


def _layout(
    shape: tuple[int, ...], rows: list[str], cols: list[str], titled: bool = True
) -> _Layout:
    """Size the figure from the grid so cells stay legible and labels never collide."""
    n_rows, n_cols = shape
    annotate = n_rows <= MAX_ANNOTATED and n_cols <= MAX_ANNOTATED
    cell = 0.5 if annotate else max(0.1, min(0.3, 12.0 / max(n_rows, n_cols)))
    axes_w = min(max(n_cols * cell, 1.2), 22.0)
    axes_h = min(max(n_rows * cell, 1.2), 14.0)
    tick_size = 8.0 if annotate else 7.0
    longest_col = max(len(c) for c in cols) * _CHAR_IN
    horizontal = longest_col <= axes_w / n_cols * 0.9
    rotation = 0 if horizontal else (45 if n_cols <= MAX_ANNOTATED else 90)
    drop = {0: 0.2, 45: 0.72 * longest_col, 90: longest_col}[rotation]
    left = 0.6 + max(len(r) for r in rows) * _CHAR_IN
    heading_h = 0.75 if axes_w > 4 else 1.0  # narrow figures wrap the heading more often
    heading_h = heading_h if titled else 0.25
    return _Layout(
        fig_w=axes_w + left + 1.2,
        fig_h=axes_h + drop + 0.6 + heading_h,
        axes_h=axes_h,
        annotate=annotate,
        boundary_width=2.0 if annotate else 1.1,  # thinner on small cells
        row_stride=math.ceil(n_rows / max(1, int(axes_h / _TICK_GAP_IN))),
        col_stride=math.ceil(n_cols / max(1, int(axes_w / _TICK_GAP_IN))),
        col_rotation=rotation,
        tick_size=tick_size,
    )


def _draw_grid(fig: Figure, ax: Axes, grid: GridView, layout: _Layout) -> None:
    n_rows, n_cols = grid.grid.shape
    xs, ys = np.arange(n_cols + 1) - 0.5, np.arange(n_rows + 1) - 0.5
    # Thin white gutters separate cells when they are big enough to carry numbers.
    gutter = 0.6 if layout.annotate else 0.0
    norm = Normalize(vmin=grid.centre - grid.half, vmax=grid.centre + grid.half)
    mesh = ax.pcolormesh(
        xs, ys, grid.values, cmap=_CMAP, norm=norm, edgecolors="white", linewidth=gutter
    )
    # Thousands of vector quads bloat an SVG; a raster mesh keeps the text vector and crisp.
    mesh.set_rasterized(grid.grid.size > 400)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    lines = LineCollection(
        _boundary_segments(grid.grid),
        colors=_BOUNDARY_COLOUR,
        linewidths=layout.boundary_width,
        capstyle="projecting",  # square ends so the staircase corners meet cleanly
        zorder=3,
    )
    ax.add_collection(lines)
    if layout.annotate:
        _annotate(ax, grid)
    _colour_bar(fig, ax, mesh, grid, layout)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)


def _colour_bar(fig: Figure, ax: Axes, mesh: QuadMesh, grid: GridView, layout: _Layout) -> None:
    bar = fig.colorbar(mesh, ax=ax, pad=0.02, aspect=max(8.0, layout.axes_h / 0.16))
    bar.set_label(grid.title, fontsize=9.5)
    ticks = grid.ticks()
    # Log-odds ticks also say P there: the reader thinks in P, the colours run in log-odds.
    labels = [f"{t.label}  (P {t.p_label})" if t.p_label else t.label for t in ticks]
    bar.set_ticks([t.value for t in ticks], labels=labels)
    bar.ax.tick_params(labelsize=8)
    # The same line on the colour bar tells the reader what the staircase in the grid means.
    boundary = grid.boundary()
    if boundary is not None:
        bar.ax.axhline(boundary, color=_BOUNDARY_COLOUR, linewidth=layout.boundary_width)
    bar.outline.set_linewidth(0.6)


def _boundary_segments(grid: np.ndarray) -> list[list[tuple[float, float]]]:
    """Cell edges separating P >= 0.5 from P < 0.5: the decision boundary as a staircase."""
    above = grid >= BOUNDARY
    segments: list[list[tuple[float, float]]] = []
    for i, j in zip(*np.nonzero(above[:, 1:] != above[:, :-1]), strict=True):
        segments.append([(j + 0.5, i - 0.5), (j + 0.5, i + 0.5)])
    for i, j in zip(*np.nonzero(above[1:, :] != above[:-1, :]), strict=True):
        segments.append([(j - 0.5, i + 0.5), (j + 0.5, i + 0.5)])
    return segments


def _annotate(ax: Axes, grid: GridView) -> None:
    for (i, j), position in np.ndenumerate(grid.positions):
        r, g, b, _ = _CMAP(position)
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.55  # perceived luminance
        colour = "white" if dark else "#1a1a1a"
        # P in as many digits as tell neighbouring cells apart (a figure is read, not hovered).
        p = float(grid.grid[i, j])
        text = format_p(p, grid.digits) if grid.scale is Scale.P else grid.cell_text(i, j)
        ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)


def _draw_ticks(ax: Axes, rows: list[str], cols: list[str], layout: _Layout) -> None:
    row_idx = list(range(0, len(rows), layout.row_stride))
    col_idx = list(range(0, len(cols), layout.col_stride))
    slanted = layout.col_rotation == 45
    # User text: parse_math=False so a "$" in a title never switches to mathtext.
    ax.set_yticks(row_idx, [rows[i] for i in row_idx], fontsize=layout.tick_size, parse_math=False)
    ax.set_xticks(
        col_idx,
        [cols[j] for j in col_idx],
        fontsize=layout.tick_size,
        parse_math=False,
        rotation=layout.col_rotation,
        # Slanted labels end under their tick rather than centring across it.
        ha="right" if slanted else "center",
        rotation_mode="anchor" if slanted else "default",
    )
    ax.tick_params(length=2.5, width=0.6)
