"""Paper-ready figures besides the heat map: the leave-one-out text and the contributions of
the model's top features, plus what every figure shares (saving as PNG or SVG, the options,
the words for a feature).

SVGs keep their text as text (``svg.fonttype: none``), so a journal's editor can change the
font or fix a word; PNGs carry their dpi. Like ``shared.heatmap`` (which saves through
:func:`save`): no pyplot, no torch; every call builds its own ``Figure``.
"""

from __future__ import annotations

import io
import numbers
import textwrap
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from shared.scales import format_p, signed

FORMATS = ("png", "svg")
DPIS = (150, 300)  # the page offers these; the renderers take any dpi in DPI_RANGE
DPI_RANGE = (10, 1200)
FIGURES = ("heatmap", "loo", "contributions")
DIRECTIONS = {"fwd": "read forwards", "bwd": "read backwards"}
CMAP = matplotlib.colormaps["RdBu"]  # as the heat map: red = "not computational"

# SVG element ids are salted from rcParams, randomly when unset; a fixed salt makes the
# output byte-for-byte reproducible. rcParams are global, so the override is serialised.
_SVG_LOCK = threading.Lock()
_SVG_SALT = "occlusion-lab"
_TEXT_W_IN = 7.0  # the leave-one-out figure's text block: a journal's two-column width
_LINE_IN = 0.27


def check_options(fmt: str, dpi: int) -> None:
    """Fail on a bad request with a clear message rather than a broken file."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    low, high = DPI_RANGE
    # numpy scalars (np.int64) count as numbers; bools are a mistake, not a value.
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Integral) or not low <= dpi <= high:
        raise ValueError(f"dpi must be an integer between {low} and {high}; got {dpi!r}")


def save(fig: Figure, fmt: str, dpi: int) -> bytes:
    """PNG with its dpi in the file, or SVG with editable text; no dates, so the same
    figure always gives the same bytes (cacheable, diffable)."""
    buffer = io.BytesIO()
    if fmt == "svg":
        # fonttype none: text stays <text> (editable), not glyph outlines.
        with _SVG_LOCK, matplotlib.rc_context({"svg.hashsalt": _SVG_SALT, "svg.fonttype": "none"}):
            fig.savefig(buffer, format="svg", dpi=dpi, metadata={"Date": None})
    else:
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def feature_words(name: str, contribution: float) -> tuple[str, str]:
    """``abstract.bwd.47`` → ("Abstract, read backwards, #47", "pushes towards computational")."""
    field, direction, index = name.rsplit(".", 2)
    where = f"{field.capitalize()}, {DIRECTIONS.get(direction, direction)}, #{index}"
    towards = "computational" if contribution >= 0 else "not computational"
    return where, f"pushes towards {towards}"


def heading(title: str, probability: float) -> str:
    # Non-breaking spaces keep "P = 0.95" together when the title wraps.
    return f"{' '.join(title.split())} — P\u00a0=\u00a0{format_p(float(probability))}"


def _new(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def render_contributions(
    top: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    probability: float | None = None,
    bias: float | None = None,
    fmt: str = "png",
    dpi: int = 150,
) -> bytes:
    """Horizontal bars of activation x weight, the largest on top, each named in words."""
    check_options(fmt, dpi)
    if not top:
        raise ValueError("there are no feature contributions to draw")
    values = [float(f["contribution"]) for f in top]
    names = [feature_words(str(f["feature"]), v) for f, v in zip(top, values, strict=True)]
    fig = _new(7.0, 0.9 + 0.36 * len(top) + (0.5 if title else 0.0))
    ax = fig.add_axes((0.36, 0.55 / fig.get_figheight(), 0.5, 1 - 1.0 / fig.get_figheight()))
    ys = list(range(len(top)))[::-1]
    colours = ["#2166ac" if v >= 0 else "#b2182b" for v in values]
    ax.barh(ys, values, color=colours, height=0.7)
    ax.axvline(0, color="#374151", linewidth=0.8)
    span = max(abs(v) for v in values) or 1.0
    room = span * 1.6  # the printed values need room beyond the longest bar
    ax.set_xlim(-room if min(values) < 0 else 0, room if max(values) > 0 else 0)
    for y, v in zip(ys, values, strict=True):  # values beside their bars, never clipped
        ax.text(v, y, f" {signed(v, 3)} ", ha="left" if v >= 0 else "right", va="center",
                fontsize=8)  # fmt: skip
    ax.set_yticks(ys, [f"{w}\n{what}" for w, what in names], fontsize=8, parse_math=False)
    what = "activation × weight" + ("" if bias is None else f"; bias {signed(bias, 3)}")  # noqa: RUF001
    ax.set_xlabel(f"Added to the logit of “computational” ({what})", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        head = heading(title, probability) if probability is not None else title
        fig.suptitle(_wrap(head, 80), fontsize=10.5, parse_math=False)
    return save(fig, fmt, dpi)


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width=width, break_long_words=True)


def loo_colour(delta: float, half: float) -> tuple[float, float, float, float]:
    """Removing a unit that lowers P (it argues "computational") is blue, as on the page."""
    return CMAP(Normalize(-half, half)(-delta))


def render_loo(
    fields: Mapping[str, Sequence[tuple[str, float, bool]]],
    *,
    title: str | None = None,
    probability: float | None = None,
    fmt: str = "png",
    dpi: int = 150,
) -> bytes:
    """Each field's units, each word on its unit's colour and each unit followed by its
    change in P when removed; ``fields[name]`` is (text, delta, unknown) per unit."""
    check_options(fmt, dpi)
    half = max([0.01, *(abs(d) for units in fields.values() for _, d, _ in units)])
    fig = _new(_TEXT_W_IN + 0.6, 1.0)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    placed: list[tuple[Any, float, float]] = []  # (text, x inches, y inches from the top)
    y = 0.3
    if title:
        head = heading(title, probability) if probability is not None else title
        y = _place(fig, renderer, placed, _wrap(head, 90), 0.3, y, size=10.5, bold=True) + 0.2
    for name, units in fields.items():
        y = _place(fig, renderer, placed, name.upper(), 0.3, y + 0.3, size=8, colour="#4b5563")
        y = _lay_out(fig, renderer, placed, units, half, y + _LINE_IN)
    legend_y = y + 0.5
    legend = _legend(fig, placed, half, legend_y)
    height = legend_y + 0.45
    fig.set_figheight(height)
    for text, x, top in placed:
        text.set_position((x, height - top))
    width = fig.get_figwidth()
    legend.set_position(
        (0.3 / width, (height - legend_y - 0.14) / height, 3 / width, 0.12 / height)
    )
    return save(fig, fmt, dpi)


def _text(fig: Figure, s: str, size: float, **kw: Any) -> Any:
    return fig.text(0, 0, s, fontsize=size, transform=fig.dpi_scale_trans,
                    va="baseline", parse_math=False, **kw)  # fmt: skip


def _place(fig: Figure, renderer: Any, placed: list[Any], s: str, x: float, y: float,
           size: float, bold: bool = False, colour: str = "#111111") -> float:  # fmt: skip
    """A heading line (or lines) at (x, y); returns the y below it."""
    text = _text(fig, s, size, weight="bold" if bold else "normal", color=colour)
    placed.append((text, x, y))
    return y + text.get_window_extent(renderer).height / fig.dpi


def _lay_out(fig: Figure, renderer: Any, placed: list[Any],
             units: Sequence[tuple[str, float, bool]], half: float, y: float) -> float:  # fmt: skip
    """Words left to right, wrapped at the text width; returns the y of the last line."""
    x, right, space = 0.3, 0.3 + _TEXT_W_IN, 0.05
    for unit_text, delta, unknown in units:
        face = (0.9, 0.91, 0.92, 1.0) if unknown else loo_colour(delta, half)
        dark = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2] < 0.55
        ink = "#6b7280" if unknown else ("white" if dark else "#111111")
        box = {"boxstyle": "square,pad=0.12", "facecolor": face, "edgecolor": "none"}
        words = [_text(fig, w, 9, color=ink, bbox=box) for w in unit_text.split()]
        # The unit's change in P after it, small; enough digits to tell units apart.
        words.append(_text(fig, signed(delta, 2), 6.5, color="#374151"))
        for k, text in enumerate(words):
            width = text.get_window_extent(renderer).width / fig.dpi
            if x + width > right and x > 0.3:
                x, y = 0.3, y + _LINE_IN
            placed.append((text, x, y))
            x += width + (space * 2.5 if k == len(words) - 1 else space)
    return y


def _legend(fig: Figure, placed: list[Any], half: float, y: float) -> Any:
    """A strip of the colours with its ends labelled: what removing a unit does to P."""
    steps = 40
    ax = fig.add_axes((0, 0, 0.01, 0.01))  # placed for real once the height is known
    ax.imshow([[k / (steps - 1) for k in range(steps)]], cmap=CMAP, aspect="auto")
    ax.set_yticks([])
    ax.set_xticks([0, steps / 2 - 0.5, steps - 1],
                  [signed(half, 2), "0", signed(-half, 2)], fontsize=7)  # fmt: skip
    ax.tick_params(length=2)
    label = "change in P when the unit alone is removed (red: it argued “not computational”)"
    placed.append((_text(fig, label, 7.5, color="#374151"), 0.3, y - 0.05))
    return ax
