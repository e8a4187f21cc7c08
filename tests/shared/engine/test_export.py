"""``occlab explain``'s grid CSV (shared.engine.export.to_csv): the paper's own text becomes
cells, and a spreadsheet must show them, not run them as formulas."""

from __future__ import annotations

import csv
import io

import numpy as np

from shared.engine.explanations import Explanation, OcclusionGrid
from shared.engine.export import to_csv
from shared.units import FieldUnits


def field(name: str, labels: list[str]) -> FieldUnits:
    units = [[label] for label in labels]
    return FieldUnits(name, "sentence", units, labels, [], list(range(1, len(labels) + 1)), "")


def test_formula_like_labels_are_quoted_and_numbers_kept() -> None:
    title = field("title", ['=HYPERLINK("http://x","y")', "@SUM(A1)"])
    abstract = field("abstract", ["+1+2", "-1+2", "\rCarriage.", "-0.25"])
    grid = OcclusionGrid(np.full((2, 4), 0.5), 0.5, [title, abstract], "default", "1.0.0")
    rows = list(csv.reader(io.StringIO(to_csv(Explanation(grid, {}, None)), newline="")))
    assert rows[0] == ["title_prefix", "abstract_prefix", "title_added", "abstract_added",
                       "probability"]  # fmt: skip
    assert rows[1] == ["1", "1", '\'=HYPERLINK("http://x","y")', "'+1+2", "0.500000"]
    assert [r[3] for r in rows[1:5]] == ["'+1+2", "'-1+2", "'\rCarriage.", "-0.25"]
    assert {r[2] for r in rows[5:]} == {"'@SUM(A1)"}
