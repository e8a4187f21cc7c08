"""The heat map's colour scales: exact transforms of the stored P, symmetric ranges from the
grid's own extent, ticks labelled in P, enough digits, and colour for confident papers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared import scales
from shared.scales import DEFAULT, Scale, format_p, p_digits, parse_scale, signed, view
from tests.conftest import TOY_ABSTRACT, TOY_TITLE
from tests.fixtures.factories import CONFIDENT, GRID
from web.pages.result_view import colour_class


def assert_exact_transforms(grid: np.ndarray) -> None:
    logodds = view(grid, Scale.LOGODDS)
    expected = np.log(grid / (1 - grid))
    np.testing.assert_allclose(logodds.values, expected, rtol=1e-12)
    assert logodds.half == pytest.approx(max(1.0, float(np.abs(expected).max())))
    change = view(grid, Scale.CHANGE)
    np.testing.assert_array_equal(change.values, grid - grid[-1, -1])
    assert change.values[-1, -1] == 0  # the whole paper is the zero of its own scale
    assert change.half == pytest.approx(max(0.01, float(np.abs(grid - grid[-1, -1]).max())))
    np.testing.assert_array_equal(view(grid, Scale.P).values, grid)


def test_transforms_are_exact_for_a_factory_grid() -> None:
    assert_exact_transforms(np.array(GRID))


def test_transforms_are_exact_for_a_real_explain_grid(tiny_model) -> None:
    from shared.engine.explanations import explain

    (e,) = explain(tiny_model, [{"title": TOY_TITLE, "abstract": TOY_ABSTRACT}])
    grid = np.asarray(e.grid.probabilities, dtype=float)
    assert grid.size > 4
    assert_exact_transforms(grid)


def test_ranges_are_symmetric_from_the_grids_extent_with_a_floor() -> None:
    grid = np.array([[0.1, 0.5], [0.7, 0.99]])  # log-odds -2.20 .. +4.60
    seen = view(grid, Scale.LOGODDS)
    assert seen.half == pytest.approx(math.log(99))
    assert seen.positions[1, 1] == pytest.approx(1.0)  # the farthest cell takes the end
    assert seen.positions[0, 1] == pytest.approx(0.5)  # P = 0.5 is white
    assert seen.positions[0, 0] == pytest.approx(0.5 - math.log(9) / (2 * math.log(99)))
    assert seen.boundary() == pytest.approx(0.0)
    flat = view(np.array([[0.5, 0.51]]), Scale.LOGODDS)
    assert flat.half == scales.FLOORS[Scale.LOGODDS]  # a flat grid stays pale
    assert view(np.array([[0.5, 0.5]]), Scale.CHANGE).half == scales.FLOORS[Scale.CHANGE]
    assert view(grid, Scale.CHANGE).half == pytest.approx(0.89)  # 0.1 - 0.99
    assert view(grid, Scale.P).half == 0.5  # P keeps 0 to 1


def test_a_shared_half_range_overrides_the_grids_own() -> None:
    seen = view(np.array([[0.1, 0.99]]), Scale.LOGODDS, half=10.0)
    assert seen.half == 10.0 and seen.positions[0, 1] == pytest.approx(0.5 + math.log(99) / 20)


def test_log_odds_ticks_are_labelled_in_p_at_the_same_places() -> None:
    seen = view(np.array([[0.01, 0.5], [0.9, 0.99]]), Scale.LOGODDS)  # half = ln 99
    ticks = seen.ticks()
    assert [t.position for t in ticks] == [0, 0.25, 0.5, 0.75, 1]
    assert [t.value for t in ticks] == pytest.approx(
        [-math.log(99), -math.log(99) / 2, 0, math.log(99) / 2, math.log(99)]
    )
    assert [t.label for t in ticks] == ["\u22124.6", "\u22122.3", "0", "+2.3", "+4.6"]
    assert [t.p_label for t in ticks] == ["0.010", "0.091", "0.50", "0.909", "0.990"]
    assert [t.label for t in view(np.array([[0.2]]), Scale.P).ticks()] == [
        "0.00", "0.25", "0.50", "0.75", "1.00",
    ]  # fmt: skip
    assert all(t.p_label == "" for t in view(np.array([[0.2]]), Scale.CHANGE).ticks())


def test_the_tooltip_says_which_scale_is_on() -> None:
    grid = np.array([[0.015, 0.5], [0.7, 0.9]])
    assert view(grid, Scale.LOGODDS).describe(0, 0) == "P = 0.0150 · log-odds \u22124.18"
    assert view(grid, Scale.P).describe(0, 0) == "P = 0.0150"
    change = view(grid, Scale.CHANGE).describe(0, 0)
    assert change == "P = 0.0150 · change \u22120.885 from the whole paper"
    assert view(grid, Scale.LOGODDS).cell_text(1, 1) == "+2.2"
    assert view(grid, Scale.P).cell_text(0, 0) == "0.015"


@pytest.mark.parametrize(
    ("p", "digits", "text"),
    [(0.015, 3, "0.0150"), (0.5, 3, "0.500"), (0.9995, 3, "0.999500"), (0.9995, 2, "0.99950"),
     (0.25, 2, "0.25"), (1.0, 3, "1.000000"), (0.0, 2, "0.000000"), (0.123456, 3, "0.123")],
)  # fmt: skip
def test_p_is_printed_to_tell_values_apart(p: float, digits: int, text: str) -> None:
    assert format_p(p, digits) == text


def test_neighbouring_cells_get_as_many_digits_as_they_need() -> None:
    assert p_digits(np.array([[0.2, 0.4]])) == 3
    close = np.array([[0.015012, 0.015047], [0.5, 0.6]])  # alike to 3 significant digits
    digits = p_digits(close)
    assert format_p(close[0, 0], digits) != format_p(close[0, 1], digits)
    assert p_digits(np.array([[0.3, 0.3]])) == 3  # equal cells may print alike


def test_signed_values_use_a_true_minus() -> None:
    assert signed(-4.184, 2, fixed=True) == "\u22124.18"
    assert signed(0.00042, 2) == "+0.00042"
    assert signed(-0.00001, 2, max_decimals=3) == "0"
    assert signed(0.0, 2) == "0"


def test_scale_names_parse_and_the_default_is_log_odds() -> None:
    assert scales.SCALES == ("p", "logodds", "change")
    assert DEFAULT is Scale.LOGODDS
    assert parse_scale(" LogOdds ") is Scale.LOGODDS
    assert parse_scale("bogus") is None and parse_scale(None) is None


def test_a_confident_grid_is_colourful_by_default_and_one_block_in_p() -> None:
    grid = np.array(CONFIDENT.grid)
    assert grid.min() > 0.95
    distinct = {s: {colour_class(x) for x in view(grid, s).positions.flat} for s in Scale}
    assert len(distinct[DEFAULT]) >= 12, distinct[DEFAULT]
    assert len(distinct[Scale.P]) <= 5, distinct[Scale.P]
