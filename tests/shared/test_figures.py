"""Paper-ready figures: the leave-one-out text, the contributions and the heat map as PNG
(dpi written in the file) and SVG (text kept as <text>, so it can be edited), with the
title optional and P printed with enough digits."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared.figures import feature_words, render_contributions, render_loo
from shared.heatmap import render_heatmap

TITLE = "Mining web data for epidemiological surveillance"
LOO = {
    "title": [("Mining", 0.021, False), ("web", -0.05, False), ("surveillance", 0.0, True)],
    "abstract": [("We mine tweets about the flu.", -0.2, False), ("Cases rise.", 0.0716, False)],
}
TOP = [
    {"feature": "abstract.bwd.47", "contribution": 0.138, "activation": 0.4, "weight": 0.345},
    {"feature": "title.fwd.3", "contribution": -0.0912, "activation": -0.2, "weight": 0.456},
]
SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(data: bytes) -> list[str]:
    """The text of every <text> element: what an editor can change."""
    root = ET.fromstring(data)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def png_dpi(data: bytes) -> tuple[float, float]:
    return Image.open(io.BytesIO(data)).info["dpi"]  # type: ignore[no-any-return]


def heatmap(**kw: Any) -> bytes:
    grid = np.array([[0.015, 0.0151, 0.9], [0.02, 0.4, 0.998123]])
    options: dict[str, Any] = {"heading": TITLE, "probability": 0.998123, "scale": "p"}
    options.update(kw)
    return render_heatmap(grid, ["Mining", "web"], ["We mine.", "Cases.", "Code."], **options)


FIGURES = {
    "loo": lambda **kw: render_loo(LOO, probability=0.998123, **kw),
    "contributions": lambda **kw: render_contributions(TOP, probability=0.998123, **kw),
    "heatmap": lambda title=None, **kw: heatmap(heading=title, **kw),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_svg_keeps_text_as_text_and_the_title_is_optional(name: str) -> None:
    with_title = " ".join(svg_texts(FIGURES[name](title=TITLE, fmt="svg")))
    without = " ".join(svg_texts(FIGURES[name](title=None, fmt="svg")))
    assert "epidemiological surveillance" in " ".join(with_title.split())  # maybe wrapped
    # Three digits of 1 - P (0.00188), so a confident paper does not read "P = 1.00".
    assert "P\u00a0=\u00a00.99812" in with_title
    assert "epidemiological" not in without and "P\u00a0=" not in without


def test_the_loo_svg_holds_the_papers_words_and_each_change_in_p() -> None:
    texts = svg_texts(render_loo(LOO, fmt="svg"))
    for word in ("Mining", "web", "We", "mine", "tweets", "flu.", "Cases", "rise."):
        assert word in texts
    assert {"+0.021", "\u22120.050", "\u22120.20", "+0.072"} <= set(texts)


def test_the_contributions_name_each_feature_in_words() -> None:
    texts = "\n".join(svg_texts(render_contributions(TOP, fmt="svg", bias=-0.04)))
    assert "Abstract, read backwards, #47" in texts and "pushes towards computational" in texts
    assert "Title, read forwards, #3" in texts and "pushes towards not computational" in texts
    assert "+0.138" in texts and "\u22120.0912" in texts and "bias \u22120.0400" in texts
    with pytest.raises(ValueError, match="no feature contributions"):
        render_contributions([])


def test_feature_words() -> None:
    assert feature_words("abstract.bwd.47", 0.1) == (
        "Abstract, read backwards, #47",
        "pushes towards computational",
    )
    assert feature_words("title.fwd.0", -0.1)[1] == "pushes towards not computational"


@pytest.mark.parametrize("name", list(FIGURES))
def test_png_carries_the_dpi_asked_for(name: str) -> None:
    low, high = (FIGURES[name](title=TITLE, dpi=d) for d in (150, 300))
    # PNG stores pixels per metre, a whole number: 300 dpi reads back as 299.9994.
    assert png_dpi(high) == pytest.approx((300, 300), abs=0.05)
    assert png_dpi(low) == pytest.approx((150, 150), abs=0.05)
    small, large = (Image.open(io.BytesIO(d)).size for d in (low, high))
    assert large[0] == pytest.approx(2 * small[0], abs=2)


def test_heatmap_cells_print_p_with_the_digits_that_tell_them_apart() -> None:
    texts = svg_texts(heatmap(fmt="svg"))
    # 0.015 and 0.0151 side by side: two places ("0.01", "0.02") would hide both facts.
    assert "0.0150" in texts and "0.0151" in texts and "0.998123" not in texts
    assert any(re.fullmatch(r"0\.9981\d*", t) for t in texts)


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"fmt": "gif"}, "fmt must be one of png, svg"), ({"dpi": 5}, "dpi must be an integer")],
)
def test_bad_options_are_named(kw: dict[str, Any], message: str) -> None:
    for render in (FIGURES["loo"], FIGURES["contributions"]):
        with pytest.raises(ValueError, match=message):
            render(**kw)
