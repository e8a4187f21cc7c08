"""Two explanations compared: which units an edit added, removed or changed, and the grid
cells of the two that can honestly be subtracted.

Units are matched on what the model reads (their tokens), with difflib, per field. A grid
cell is P for a title prefix and an abstract prefix, so cell-wise differences need prefixes
that correspond. Two prefixes correspond when they end at the same point of the alignment:
inside a run of unchanged units, or just after a complete edit. Then they hold the same
units except for whole edits, and the difference is the effect of those edits read up to
there (exactly 0 before the first edit, if the model is the same). A prefix that ends part
way through an edit (a sentence inserted, two sentences replaced by three) has no
counterpart, and its cells are not compared. Inserting a sentence thus shifts the columns
after it instead of comparing sentence k with sentence k. The whole papers always correspond.

Pure functions of the explain JSON (``shared.results.stored``): no SQL, no torch.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.scales import Scale, transform

FIELDS = ("title", "abstract")
KINDS = {"equal": "same", "insert": "added", "delete": "removed", "replace": "changed"}


@dataclass(frozen=True)
class Block:
    """A run of units: ``same`` in both, or ``added``/``removed``/``changed`` by the edit.
    ``old`` and ``new`` are the runs' indexes (0-based) in each list."""

    kind: str
    old: range
    new: range


def unit_diff(old: Sequence[Hashable], new: Sequence[Hashable]) -> list[Block]:
    """The edit from ``old`` units to ``new`` ones, as runs, in order."""
    matcher = difflib.SequenceMatcher(a=list(old), b=list(new), autojunk=False)
    return [
        Block(KINDS[tag], range(i1, i2), range(j1, j2))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


def corresponding(blocks: Sequence[Block], new_len: int) -> list[int | None]:
    """For each prefix length k = 1 .. ``new_len`` of the new units, the old prefix length
    it corresponds to, or None if it ends inside an edit (or the old prefix is empty: no
    cell). Where units were removed, the new prefix ending there corresponds to the old
    prefixes before and after them; the later is taken, so the removal is part of what the
    cell compares, and the whole papers correspond even when the last units were removed."""
    cuts: dict[int, int] = {}
    for block in blocks:
        if block.kind == "same":
            for step in range(1, len(block.new) + 1):
                cuts[block.new.start + step] = block.old.start + step
        cuts[block.new.stop] = block.old.stop
    return [cuts.get(k) or None for k in range(1, new_len + 1)]


@dataclass
class Difference:
    """``new`` minus ``old`` per cell of the new grid (NaN: no corresponding cell), in the
    scale's units (P, or log-odds), and each field's runs of units."""

    scale: Scale
    cells: np.ndarray
    blocks: dict[str, list[Block]]
    same_text: np.ndarray  # cells that read identical text in both

    @property
    def compared(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.cells)))

    def largest(self) -> float:
        """The largest |difference| over the compared cells (0 if none)."""
        return float(np.nanmax(np.abs(self.cells))) if self.compared else 0.0


def unit_keys(explain: dict[str, Any], field: str) -> list[tuple[str, ...]]:
    """What the model reads of each unit: its tokens (case and spacing aside)."""
    return [tuple(tokens) for tokens in explain[f"{field}_units"]]


def difference(old: dict[str, Any], new: dict[str, Any], scale: Scale = Scale.P) -> Difference:
    """Compare two done explanations; ``scale`` is P or log-odds (change-from-the-whole-
    paper differences would mix two reference cells, so it is compared in P)."""
    scale = Scale.LOGODDS if scale is Scale.LOGODDS else Scale.P
    blocks = {f: unit_diff(unit_keys(old, f), unit_keys(new, f)) for f in FIELDS}
    old_grid, new_grid = (transform(np.asarray(e["probabilities"]), scale) for e in (old, new))
    rows = corresponding(blocks["title"], new_grid.shape[0])
    cols = corresponding(blocks["abstract"], new_grid.shape[1])
    cells = np.full(new_grid.shape, np.nan)
    for i, a in enumerate(rows):
        for j, b in enumerate(cols):
            if a is not None and b is not None:
                cells[i, j] = new_grid[i, j] - old_grid[a - 1, b - 1]
    same = np.outer(_same_prefix(blocks["title"], rows), _same_prefix(blocks["abstract"], cols))
    return Difference(scale, cells, blocks, same)


def _same_prefix(blocks: Sequence[Block], pairs: list[int | None]) -> list[bool]:
    """Whether each new prefix is compared with the identical old prefix (before any edit)."""
    lead = len(blocks[0].new) if blocks and blocks[0].kind == "same" else 0
    return [k <= lead and old == k for k, old in enumerate(pairs, 1)]
