"""Geometry for the activation view, drawn by templates/results/_charts.html.

The contributions are rows of HTML (a feature named in words, its bar, its value), so the
text is page text at any width and a value is never clipped; only each bar is a small SVG
(``BAR_VIEW`` units wide, zero in the middle). The traces are SVG line charts drawn at
``WIDTH`` pixels (1x on a phone, where they scroll; about 1x in half a laptop's page).
Plain numbers only: Jinja escapes every label, so a token or feature name can never become
markup. Colours are CSS classes (the CSP allows no inline style).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.figures import feature_words
from shared.scales import signed

WIDTH = 520
PLOT_H = 236
BAR_VIEW = 200  # a bar's SVG is this many units wide; zero at the middle


@dataclass
class Bar:
    where: str  # "Abstract, read backwards, #47"
    what: str  # "pushes towards computational"
    value: float
    text: str  # the value printed: "+0.138", a true minus when negative
    x: float  # in BAR_VIEW units
    w: float
    positive: bool
    detail: str


def feature_name(f: dict[str, Any]) -> str:
    """A feature in words, for menus and captions: "Abstract, read backwards, #47"."""
    return feature_words(str(f["feature"]), float(f["contribution"]))[0]


def feature_bars(top: list[dict[str, Any]]) -> dict[str, Any]:
    """Signed bars of activation x weight around a zero line, largest |value| first."""
    span = max([1e-9, *(abs(f["contribution"]) for f in top)])
    zero = BAR_VIEW / 2
    bars = []
    for f in top:
        c = float(f["contribution"])
        where, what = feature_words(str(f["feature"]), c)
        w = abs(c) / span * zero
        detail = (
            f"{f['feature']}: activation {f['activation']:+.4f} × weight {f['weight']:+.4f}"  # noqa: RUF001
            f" = {c:+.4f}"
        )
        x = zero if c >= 0 else zero - w
        bars.append(Bar(where, what, c, signed(c, 3), x, w, c >= 0, detail))
    return {"bars": bars, "zero": zero, "width": BAR_VIEW}


def line_chart(
    values: list[float],
    labels: list[str],
    lo: float | None = None,
    hi: float | None = None,
    reference: float | None = None,
) -> dict[str, Any]:
    """A polyline over tokens; y runs ``lo``..``hi`` (default: the data's range)."""
    lo = min([*values, 0.0]) if lo is None else lo
    hi = max([*values, 0.0]) if hi is None else hi
    if hi - lo < 1e-9:
        hi = lo + 1.0
    n = len(values)
    # Room below and to the right for the slanted token labels, so none is cut off.
    left, right, top, bottom = 52, WIDTH - 64, 24, PLOT_H - 72
    step = (right - left) / max(1, n - 1)

    def y(v: float) -> float:
        return round(bottom - (v - lo) / (hi - lo) * (bottom - top), 2)

    points = [
        {"x": round(left + k * step, 2), "y": y(v), "value": v, "label": labels[k]}
        for k, v in enumerate(values)
    ]
    every = max(1, round(n / 12))
    return {
        "points": points,
        "path": " ".join(f"{p['x']},{p['y']}" for p in points),
        "ticks": [p for k, p in enumerate(points) if k % every == 0],
        "y_ticks": [{"y": y(v), "label": f"{v:.2f}"} for v in (lo, (lo + hi) / 2, hi)],
        "reference": None if reference is None else y(reference),
        "zero": y(0.0) if lo < 0 < hi else None,
        "width": WIDTH,
        "height": PLOT_H,
        "left": left,
        "right": right,
        "bottom": bottom,
    }


def pooling_of(result: Any) -> dict[str, str]:
    """Per field, what the model's head reads: each direction's final state (our models) or
    the outputs at the last step (``last-output``, as imported from the seed's layout)."""
    arch = ((result.model.manifest or {}) if result.model else {}).get("architecture") or {}
    return dict(arch.get("pooling") or {})


def activation_view(
    activations: dict[str, Any] | None, pooling: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """Bars, per-feature traces (when the worker stored them) and running P per field. A
    backward feature's value the head reads is at the first token under final-state
    pooling, at the last under last-output (its state after reading only that token)."""
    if not activations:
        return None
    top = activations.get("top_features") or []
    fields = activations.get("fields") or {}
    traces = []
    for k, f in enumerate(top):
        trace = f.get("trace")
        tokens = (fields.get(f.get("field", "")) or {}).get("tokens") or []
        if trace and len(tokens) == len(trace):
            chart = line_chart(trace, tokens)
            read_at = "last" if f.get("direction") == "fwd" else _backward_end(pooling, f)
            traces.append({"index": k, "feature": f, "name": feature_name(f), "chart": chart,
                           "read_at": read_at})  # fmt: skip
    running = [
        {"field": name, "chart": line_chart(v["running_probability"], v["tokens"], 0, 1, 0.5)}
        for name, v in fields.items()
        if v.get("running_probability")
    ]
    return {
        "bias": activations.get("bias"),
        "bars": feature_bars(top) if top else None,
        "traces": traces,
        "running": running,
    }


def _backward_end(pooling: dict[str, str] | None, feature: dict[str, Any]) -> str:
    last = (pooling or {}).get(str(feature.get("field"))) == "last-output"
    return "last" if last else "first"
