"""Tests for the occlusion-grid heat map (the seed report's Figure 2)."""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from shared import heatmap
from shared.heatmap import render_heatmap
from shared.scales import DEFAULT, SCALES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TITLE = "Exploration of humans, society and R"
TITLE_WORDS = ["Exploration", "of", "humans,", "society", "and", "R"]
SENTENCES = [
    "We used methods and techniques to do stuff.",
    "Weber Freud and vocabulary acquisition were explored.",
    "Then we did more stuff.",
    "Our code can be found on Github.",
]
# Made up, shaped like the seed report: "Exploration" + S1 = 0.64, + S2 = 0.41, whole = 0.95.
DEMO_GRID = np.array(
    [
        [0.64, 0.41, 0.47, 0.58],
        [0.61, 0.38, 0.44, 0.55],
        [0.52, 0.29, 0.35, 0.49],
        [0.45, 0.22, 0.31, 0.46],
        [0.58, 0.35, 0.49, 0.72],
        [0.83, 0.62, 0.78, 0.95],
    ]
)


def demo(**overrides: Any) -> bytes:
    kwargs: dict[str, Any] = {
        "probabilities": DEMO_GRID,
        "row_labels": TITLE_WORDS,
        "col_labels": SENTENCES,
        "heading": TITLE,
        "probability": 0.95,
    }
    kwargs.update(overrides)
    return render_heatmap(**kwargs)


def decode_png(data: bytes) -> np.ndarray:
    assert data.startswith(PNG_SIGNATURE)
    return np.asarray(matplotlib.image.imread(io.BytesIO(data), format="png"))


def parse_svg(data: bytes) -> tuple[ET.Element, str]:
    return ET.fromstring(data), data.decode("utf-8")


def test_demo_png_decodes_to_plausible_image() -> None:
    image = decode_png(demo())
    height, width, channels = image.shape
    assert channels in (3, 4)
    assert 400 <= width <= 3000 and 400 <= height <= 3000
    # Both colour ends of the diverging scale are present: some cells blue, some red.
    rgb = image[..., :3]
    assert ((rgb[..., 2] - rgb[..., 0]) > 0.3).any()
    assert ((rgb[..., 0] - rgb[..., 2]) > 0.3).any()


def test_dpi_scales_png() -> None:
    small = decode_png(demo(dpi=75))
    large = decode_png(demo(dpi=150))
    assert large.shape[1] == pytest.approx(2 * small.shape[1], abs=2)


def test_numpy_scalars_are_accepted() -> None:
    assert demo(probability=np.float32(0.95), dpi=np.int64(50)).startswith(PNG_SIGNATURE)


def test_png_is_deterministic() -> None:
    assert demo() == demo()


def test_svg_parses_and_holds_heading_and_labels() -> None:
    root, text = parse_svg(demo(fmt="svg"))
    assert root.tag.endswith("svg")
    assert TITLE in text
    assert "P\u00a0=\u00a00.95" in text
    assert "S1 We used methods and…" in text
    assert "+ society" in text
    assert "P(computational)" in text
    assert "+0.6" in text  # the cell "Exploration" + S1, P 0.64, in log-odds (the default)


def test_each_scale_colours_and_labels_its_own_values() -> None:
    texts = {s: parse_svg(demo(fmt="svg", scale=s))[1] for s in SCALES}
    assert "P(computational)" in texts["p"] and "0.64" in texts["p"]
    # Log-odds: the colour bar in log-odds and in P at the same ticks, cells in log-odds.
    assert "log-odds of P(computational)" in texts["logodds"]
    assert "(P 0.50)" in texts["logodds"] and "(P 0.950)" in texts["logodds"]  # ends: logit(0.95)
    assert "+0.6" in texts["logodds"]  # logit(0.64) = 0.575
    assert "P minus the whole paper" in texts["change"]
    assert "\u22120.31" in texts["change"]  # 0.64 - 0.95
    pngs = {s: demo(scale=s) for s in SCALES}
    assert len(set(pngs.values())) == 3 and demo() == pngs[DEFAULT]


def test_svg_escapes_user_text() -> None:
    data = render_heatmap(
        np.array([[0.2, 0.7]]),
        ["<script>alert(1)</script>"],
        ["Tom & Jerry", "x </svg> y"],
        heading="Cats & <b>dogs</b>",
        probability=0.7,
        fmt="svg",
    )
    _, text = parse_svg(data)
    assert "<script" not in text and "<b>" not in text and "x </svg>" not in text
    assert "&lt;script&gt;" in text
    assert "Tom &amp; Jerry" in text
    assert "Cats &amp; &lt;b&gt;dogs&lt;/b&gt;" in text


def test_svg_is_deterministic_without_date() -> None:
    first = demo(fmt="svg")
    assert first == demo(fmt="svg")
    assert b"dc:date" not in first


def test_dollar_signs_are_not_mathtext() -> None:
    # With mathtext on, an unbalanced "$\frac{" would raise while drawing.
    data = render_heatmap(
        np.array([[0.5]]), [r"$\frac{"], ["costs $5"], heading="$x$", probability=0.5, fmt="svg"
    )
    assert r"$\frac{" in data.decode("utf-8")


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (10, 12)])
def test_any_small_shape_renders(shape: tuple[int, int], fmt: str) -> None:
    rows, cols = shape
    grid = np.linspace(0, 1, rows * cols).reshape(shape)
    data = render_heatmap(
        grid,
        [f"w{i}" for i in range(rows)],
        [f"Sentence {j} says something." for j in range(cols)],
        heading="Shapes",
        probability=float(grid[-1, -1]),
        fmt=fmt,
    )
    if fmt == "png":
        assert decode_png(data).shape[0] > 100
    else:
        parse_svg(data)


def test_large_word_level_grid_renders_with_thinned_ticks() -> None:
    rng = np.random.default_rng(0)
    grid = rng.random((40, 150))
    rows = [f"t{i}" for i in range(40)]
    cols = [f"word{j}" for j in range(150)]
    data = render_heatmap(grid, rows, cols, heading="Big", probability=0.5, col_unit="word", dpi=72)
    image = decode_png(data)
    assert image.shape[1] > image.shape[0]  # 150 columns make a wide figure
    layout = heatmap._layout(grid.shape, rows, cols)
    assert not layout.annotate
    assert layout.col_stride > 1


def test_word_columns_are_labelled_like_rows() -> None:
    _, text = parse_svg(
        demo(col_labels=["we", "used", "methods", "and"], col_unit="word", fmt="svg")
    )
    assert "+ used" in text
    assert "S2" not in text


def test_labels_and_truncation() -> None:
    assert heatmap._unit_labels(["Exploration", "of"]) == ["Exploration", "+ of"]
    assert heatmap._sentence_labels(SENTENCES)[0] == "S1 We used methods and…"
    assert heatmap._sentence_labels(["Short."]) == ["S1 Short."]
    long_word = heatmap._truncate("x" * 40)
    assert len(long_word) == heatmap.LABEL_CHARS and long_word.endswith("…")


def test_boundary_follows_cell_edges() -> None:
    assert heatmap._boundary_segments(np.array([[0.9]])) == []
    # One vertical edge between a low and a high column, one horizontal edge between rows.
    assert heatmap._boundary_segments(np.array([[0.2, 0.8]])) == [[(0.5, -0.5), (0.5, 0.5)]]
    assert heatmap._boundary_segments(np.array([[0.2], [0.8]])) == [[(-0.5, 0.5), (0.5, 0.5)]]
    assert len(heatmap._boundary_segments(DEMO_GRID)) > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"probabilities": np.array([0.5, 0.6])}, "2-D"),
        ({"probabilities": np.zeros((6, 4, 1))}, "2-D"),
        ({"probabilities": np.zeros((0, 4)), "row_labels": []}, "non-empty"),
        ({"probabilities": np.zeros((5, 4))}, "6 row labels"),
        ({"col_labels": SENTENCES[:3]}, "3 column labels"),
        ({"probabilities": np.where(DEMO_GRID > 0.9, np.nan, DEMO_GRID)}, "finite"),
        ({"probabilities": np.where(DEMO_GRID > 0.9, np.inf, DEMO_GRID)}, "finite"),
        ({"probabilities": DEMO_GRID + 0.1}, r"\[0, 1\]"),
        ({"probabilities": DEMO_GRID - 0.5}, r"\[0, 1\]"),
        ({"probabilities": [["a"] * 4] * 6}, "numeric"),
        ({"probability": 1.5}, "probability"),
        ({"probability": float("nan")}, "probability"),
        ({"probability": "0.9"}, "probability"),
        ({"dpi": 150.0}, "dpi"),
        ({"fmt": "pdf"}, "png, svg"),
        ({"col_unit": "char"}, "sentence, word"),
        ({"dpi": 0}, "dpi"),
        ({"scale": "linear"}, "p, logodds, change"),
    ],
)
def test_bad_input_raises(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        demo(**overrides)


def test_concurrent_renders_match_serial() -> None:
    expected = {fmt: demo(fmt=fmt) for fmt in ("png", "svg")}
    formats = ["png", "svg"] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda fmt: (fmt, demo(fmt=fmt)), formats))
    assert all(data == expected[fmt] for fmt, data in results)


def test_module_never_loads_torch_or_pyplot() -> None:
    code = (
        "import sys, shared.heatmap; "
        "bad = {'torch', 'gensim', 'matplotlib.pyplot'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
