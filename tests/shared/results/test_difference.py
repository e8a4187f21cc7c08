"""shared.results.difference: runs of units, corresponding prefixes, and the cell-wise
difference of two explanations (exact arithmetic on small made-up grids)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from shared.results.difference import Block, corresponding, difference, unit_diff
from shared.scales import Scale, logit


def kinds(blocks: list[Block]) -> list[tuple[str, list[int], list[int]]]:
    return [(b.kind, list(b.old), list(b.new)) for b in blocks]


def test_unit_diff_names_each_run() -> None:
    blocks = unit_diff(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"])
    assert kinds(blocks) == [
        ("same", [0], [0]),
        ("changed", [1], [1]),
        ("same", [2, 3], [2, 3]),
        ("added", [], [4]),
    ]
    assert kinds(unit_diff(["a", "b", "c"], ["a", "c"])) == [
        ("same", [0], [0]),
        ("removed", [1], []),
        ("same", [2], [1]),
    ]
    assert kinds(unit_diff(["a"], ["a"])) == [("same", [0], [0])]
    assert kinds(unit_diff([], ["a"])) == [("added", [], [0])]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # one sentence edited: position by position
        ("abcd", "axcd", [1, 2, 3, 4]),
        # one inserted at the start: the columns after it shift by one
        ("ab", "nab", [None, 1, 2]),
        # two inserted in the middle: the prefix ending between them has no counterpart
        ("abc", "abxyc", [1, 2, None, 2, 3]),
        # removed in the middle: the prefix ending there takes the removal in
        ("abc", "ac", [2, 3]),
        # removed at the end: the whole papers still correspond
        ("abc", "ab", [1, 3]),
        # two replaced by three: only the end of the edit corresponds
        ("abcd", "axyzd", [1, None, None, 3, 4]),
        # nothing in common: the whole papers only
        ("ab", "xyz", [None, None, 2]),
    ],
)
def test_corresponding_prefixes(old: str, new: str, expected: list[int | None]) -> None:
    assert corresponding(unit_diff(list(old), list(new)), len(new)) == expected


def explain(title: list[str], abstract: list[str], grid: list[list[float]]) -> dict[str, Any]:
    return {
        "title_units": [[w] for w in title],
        "abstract_units": [s.lower().split() for s in abstract],
        "probabilities": grid,
    }


def test_cells_compare_where_the_prefixes_correspond() -> None:
    old = explain(["social", "media"], ["We study it.", "It matters."], [[0.1, 0.2], [0.3, 0.4]])
    # A sentence inserted before the last; the title unchanged.
    new_grid = [[0.1, 0.5, 0.25], [0.3, 0.6, 0.8]]
    new = explain(["social", "media"], ["We study it.", "Trees grow.", "It matters."], new_grid)
    d = difference(old, new)
    # Columns: new 1 <-> old 1 (the same text), new 2 (just after the whole insertion)
    # <-> old 1, new 3 <-> old 2.
    expected = np.array([[0.0, 0.4, 0.05], [0.0, 0.3, 0.4]])
    assert np.allclose(d.cells, expected)
    assert d.compared == 6 and d.largest() == pytest.approx(0.4)
    assert d.same_text.tolist() == [[True, False, False], [True, False, False]]
    assert [b.kind for b in d.blocks["abstract"]] == ["same", "added", "same"]


def test_a_unit_cased_differently_is_the_same_unit() -> None:
    """Units are matched on their tokens: what the model reads."""
    old = explain(["a"], ["We study it."], [[0.2]])
    new = explain(["a"], ["WE STUDY IT."], [[0.2]])
    assert [b.kind for b in difference(old, new).blocks["abstract"]] == ["same"]


def test_log_odds_and_no_counterpart() -> None:
    old = explain(["a", "b"], ["s1"], [[0.2], [0.5]])
    new = explain(["x", "y", "b"], ["s1"], [[0.9], [0.6], [0.7]])  # title: a -> x, y
    d = difference(old, new, Scale.LOGODDS)
    assert d.scale is Scale.LOGODDS
    assert math.isnan(d.cells[0, 0])  # "x" ends inside the edit a -> x y
    assert d.cells[1, 0] == pytest.approx(float(logit(0.6) - logit(0.2)))
    assert d.cells[2, 0] == pytest.approx(float(logit(0.7) - logit(0.5)))
    assert not d.same_text.any()
    # The change scale is compared in P (two reference cells would not subtract).
    assert difference(old, new, Scale.CHANGE).scale is Scale.P


def test_nothing_comparable_but_the_whole_papers() -> None:
    old = explain(["a"], ["s1", "s2"], [[0.2, 0.4]])
    new = explain(["a"], ["t1", "t2", "t3"], [[0.1, 0.1, 0.9]])
    d = difference(old, new)
    assert d.compared == 1 and d.cells[0, 2] == pytest.approx(0.5)
