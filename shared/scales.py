"""The heat map's colour scales: one grid of P seen three ways, for the page and the images.

Real papers are mostly confident: on a scale linear in P most grids are one hue and many a
solid block, while the structure sits in the logits. So besides P (the seed's figure,
diverging around 0.5 on [0, 1]) there are log-odds, ln(P / (1 - P)) centred at 0, and the
change from the whole paper (each cell minus the top-right cell), both over a symmetric
range taken from the grid's own extent. Torch-free and pyplot-free: the web imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np


class Scale(StrEnum):
    P = "p"
    LOGODDS = "logodds"
    CHANGE = "change"


SCALES = tuple(s.value for s in Scale)
# Log-odds: it shows the structure of a confident grid (where P is a block of 0.99s) and,
# centred at 0, it keeps the decision boundary at the middle of the colour bar as P does.
DEFAULT = Scale.LOGODDS
NAMES = {Scale.P: "P", Scale.LOGODDS: "Log-odds", Scale.CHANGE: "Change"}
TITLES = {
    Scale.P: "P(computational)",
    Scale.LOGODDS: "log-odds of P(computational)",
    Scale.CHANGE: "P minus the whole paper's P",
}
BOUNDARY = 0.5
# Stored P has 6 decimals, so 0 and 1 occur; clipping keeps their log-odds finite.
P_CLIP = 1e-6
# The least half-range: a flat grid stays pale rather than stretching noise to full colour.
FLOORS = {Scale.LOGODDS: 1.0, Scale.CHANGE: 0.01}
MAX_DECIMALS = 6  # what the database and the JSON keep
MINUS = "\u2212"


def parse_scale(value: str | None) -> Scale | None:
    """The scale a query, form or stored value names; None for anything else."""
    try:
        return Scale((value or "").strip().lower())
    except ValueError:
        return None


def logit(p: np.ndarray | float) -> np.ndarray:
    clipped = np.clip(np.asarray(p, dtype=float), P_CLIP, 1.0 - P_CLIP)
    return np.log(clipped / (1.0 - clipped))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def transform(grid: np.ndarray, scale: Scale) -> np.ndarray:
    """The grid in the scale's units; the top-right cell ``grid[-1, -1]`` is the whole paper."""
    grid = np.asarray(grid, dtype=float)
    if scale is Scale.LOGODDS:
        return logit(grid)
    if scale is Scale.CHANGE:
        return grid - grid[-1, -1]
    return grid


def extent(values: np.ndarray, scale: Scale) -> float:
    """The half-range of the colours: P's is fixed (0 to 1 around 0.5), the others' is the
    grid's largest distance from 0, at least the scale's floor."""
    if scale is Scale.P:
        return BOUNDARY
    return max(FLOORS[scale], float(np.max(np.abs(values))))


@dataclass(frozen=True)
class Tick:
    position: float  # 0 at the bottom of the colour bar, 1 at the top
    value: float  # in the scale's units
    label: str
    p_label: str  # P at the same tick (log-odds only); "" otherwise


@dataclass(frozen=True)
class GridView:
    """A grid in one scale: its values, their colours' range and how to print them."""

    scale: Scale
    grid: np.ndarray  # P, as stored
    values: np.ndarray  # the grid in the scale's units
    half: float  # colours run from centre - half (red) to centre + half (blue)
    digits: int  # significant digits P needs here to tell neighbouring cells apart

    @property
    def centre(self) -> float:
        return BOUNDARY if self.scale is Scale.P else 0.0

    @property
    def title(self) -> str:
        return TITLES[self.scale]

    @cached_property  # a page asks once per cell
    def positions(self) -> np.ndarray:
        """Each cell's place on the diverging map, 0 (red) to 1 (blue)."""
        low = self.centre - self.half
        return np.clip((self.values - low) / (2.0 * self.half), 0.0, 1.0)

    def boundary(self) -> float | None:
        """The value P = 0.5 has on this scale, if it lies within the colour range."""
        value = float(transform(np.array([[BOUNDARY, self.grid[-1, -1]]]), self.scale)[0, 0])
        return value if abs(value - self.centre) <= self.half else None

    def ticks(self) -> list[Tick]:
        """Five evenly spaced ticks, bottom to top (log-odds also labelled in P)."""
        out = []
        for k in range(5):
            value = self.centre + self.half * (k - 2) / 2
            p_label = format_p(sigmoid(value), 2) if self.scale is Scale.LOGODDS else ""
            out.append(Tick(k / 4, value, self.tick_label(value), p_label))
        return out

    def tick_label(self, value: float) -> str:
        if self.scale is Scale.P:
            return f"{value:.2f}"
        return signed(value, 1 if self.scale is Scale.LOGODDS else 3, fixed=True)

    def cell_text(self, i: int, j: int) -> str:
        """The short value printed in a cell."""
        if self.scale is Scale.P:
            return format_p(float(self.grid[i, j]), 2, max_decimals=4)
        value = float(self.values[i, j])
        if self.scale is Scale.LOGODDS:
            return signed(value, 1, fixed=True)
        return signed(value, 2, max_decimals=3)  # a cell has room for six characters

    def describe(self, i: int, j: int) -> str:
        """What a tooltip says of a cell: ``P = 0.0150 · log-odds -4.18``."""
        p = f"P = {format_p(float(self.grid[i, j]), self.digits)}"
        value = float(self.values[i, j])
        if self.scale is Scale.LOGODDS:
            return f"{p} · log-odds {signed(value, 2, fixed=True)}"
        if self.scale is Scale.CHANGE:
            return f"{p} · change {signed(value, self.digits)} from the whole paper"
        return p


def view(grid: np.ndarray, scale: Scale, half: float | None = None) -> GridView:
    """``grid`` seen in ``scale``; ``half`` shares one range across grids (compare)."""
    grid = np.asarray(grid, dtype=float)
    values = transform(grid, scale)
    return GridView(scale, grid, values, half or extent(values, scale), p_digits(grid))


def format_p(p: float, digits: int = 3, max_decimals: int = MAX_DECIMALS) -> str:
    """P to ``digits`` significant digits of its distance from 0 or 1, whichever is nearer,
    so 0.015 is not 0.01 and 0.9995 is not 1.00."""
    near = min(p, 1.0 - p)
    decimals = max_decimals if near <= 0 else digits - 1 - math.floor(math.log10(near))
    return f"{p:.{min(max_decimals, max(2, decimals))}f}"


def p_digits(grid: np.ndarray, least: int = 3) -> int:
    """The fewest significant digits (from ``least``) at which no two neighbouring cells
    with different P print the same."""
    for digits in range(least, MAX_DECIMALS + 1):
        text = np.vectorize(lambda p, d=digits: format_p(float(p), d))(grid)
        across = (text[:, 1:] == text[:, :-1]) & (grid[:, 1:] != grid[:, :-1])
        down = (text[1:, :] == text[:-1, :]) & (grid[1:, :] != grid[:-1, :])
        if not (across.any() or down.any()):
            return digits
    return MAX_DECIMALS


def signed(value: float, digits: int, fixed: bool = False, max_decimals: int = MAX_DECIMALS) -> str:
    """``+4.2`` / ``\u22124.2`` (a true minus): ``digits`` decimals when ``fixed``, else that many
    significant digits, at most ``max_decimals``; what rounds to nothing is ``0``."""
    if fixed:
        decimals = digits
    elif value == 0:
        return "0"
    else:
        decimals = digits - 1 - math.floor(math.log10(abs(value)))
    decimals = min(max_decimals, max(1, decimals))
    if round(value, decimals) == 0:
        return "0"
    return ("+" if value > 0 else MINUS) + f"{abs(value):.{decimals}f}"
