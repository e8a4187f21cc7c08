"""SVG geometry for the activation view, drawn by templates/results/_charts.html.

Plain numbers only: the templates write the SVG and Jinja escapes every label, so a token
or feature name can never become markup. Colours are CSS classes (the CSP allows no inline
style); ``fill`` and ``stroke`` come from results.css.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 640
BAR_H = 20
LABEL_W = 150
PLOT_H = 230
PAD = 28


@dataclass
class Bar:
    label: str
    value: float
    x: float
    y: float
    w: float
    positive: bool
    detail: str


def feature_bars(top: list[dict[str, Any]]) -> dict[str, Any]:
    """Signed horizontal bars of activation x weight around a zero line."""
    span = max([1e-9, *(abs(f["contribution"]) for f in top)])
    half = (WIDTH - LABEL_W - 60) / 2
    zero = LABEL_W + 30 + half
    bars = []
    for k, f in enumerate(top):
        c = float(f["contribution"])
        w = abs(c) / span * half
        detail = (
            f"{f['feature']}: activation {f['activation']:+.4f} × weight {f['weight']:+.4f}"  # noqa: RUF001
            f" = {c:+.4f}"
        )
        bars.append(
            Bar(f["feature"], c, zero if c >= 0 else zero - w, PAD + k * BAR_H, w, c >= 0, detail)
        )
    height = PAD + len(top) * BAR_H + 10
    return {"bars": bars, "zero": zero, "width": WIDTH, "height": height, "bar_h": BAR_H - 5}


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
    left, right, top, bottom = 48, WIDTH - 24, 24, PLOT_H - 56
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


def activation_view(activations: dict[str, Any] | None) -> dict[str, Any] | None:
    """Bars, per-feature traces (when the worker stored them) and running P per field."""
    if not activations:
        return None
    top = activations.get("top_features") or []
    fields = activations.get("fields") or {}
    traces = []
    for k, f in enumerate(top):
        trace = f.get("trace")
        tokens = (fields.get(f.get("field", "")) or {}).get("tokens") or []
        if trace and len(tokens) == len(trace):
            traces.append({"index": k, "feature": f, "chart": line_chart(trace, tokens)})
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
