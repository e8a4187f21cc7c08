"""Explanations as JSON, CSV and heat-map images: the formats of ``occlab explain``."""

from __future__ import annotations

from typing import Any

import numpy as np

from shared.engine.explanations import Activations, Explanation
from shared.engine.faithfulness import Faithfulness
from shared.heatmap import render_heatmap
from shared.scales import DEFAULT
from shared.text import csv_text

TOP_FEATURES = 20


def _floats(a: np.ndarray, digits: int = 6) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def to_json(e: Explanation, full_activations: bool = True) -> dict[str, Any]:
    g = e.grid
    data: dict[str, Any] = {
        "probability": round(g.probability, 6),
        "probabilities": _floats(g.probabilities),
        "fields": [f.name for f in g.fields],
        "units": {f.name: f.unit for f in g.fields},
        "title_units": g.title_units,
        "abstract_units": g.abstract_units,
        "labels": {f.name: f.labels for f in g.fields},
        "leave_one_out": {f: _floats(d) for f, d in e.leave_one_out.items()},
        "skipped": g.skipped,
        "read_as_nothing": [f.name for f in g.fields if f.read_as_nothing],
        "left_out": {f.name: f.left_out_json() for f in g.fields},
        "model": {"name": g.model_name, "version": g.model_version},
        **faithfulness_json(e.faithfulness),
    }
    if e.activations is not None:
        data["activations"] = activations_json(e.activations, full_activations)
    return data


def faithfulness_json(f: Faithfulness | None) -> dict[str, Any]:
    """The keys ``faithfulness`` and ``minimal_flip`` (both null if it was not computed)."""
    if f is None:
        return {"faithfulness": None, "minimal_flip": None}
    flip = f.minimal_flip
    return {
        "faithfulness": {
            "comprehensiveness": {q: round(v, 6) for q, v in f.comprehensiveness.items()},
            "sufficiency": {q: round(v, 6) for q, v in f.sufficiency.items()},
            "aopc_comprehensiveness": round(f.aopc_comprehensiveness, 6),
            "aopc_sufficiency": round(f.aopc_sufficiency, 6),
            "deletion_curve": _floats(f.deletion_curve),
        },
        "minimal_flip": None
        if flip is None
        else {"k": flip.k, "units": flip.units, "probability": round(flip.probability, 6)},
    }


def _trace(a: Activations, name: str) -> dict[str, Any]:
    """The feature's value at every known token of its field, in reading order: the
    forward unit ends (and is read off) at the last token, the backward one at the first
    (under last-output pooling the head reads it at the last token). Without traces (the
    bulk profile) ``trace`` is null."""
    field, direction, unit = name.rsplit(".", 2)
    trace = None
    if a.fields is not None:
        fa = a.fields[field]
        trace = _floats((fa.forward if direction == "fwd" else fa.backward)[:, int(unit)], 5)
    return {"field": field, "direction": direction, "trace": trace}


def activations_json(a: Activations, full: bool = True) -> dict[str, Any]:
    """Top features by |activation x weight| (each with its per-token trace), the running P
    per field, and with ``full`` every top-layer output. Without traces every trace key
    (``trace``, ``tokens``, ``running_probability``) is null: see :func:`traces_json`."""
    top = [
        {
            "feature": a.feature_names[i],
            "activation": round(float(a.features[i]), 6),
            "weight": round(float(a.weights[i]), 6),
            "contribution": round(float(a.contributions[i]), 6),
            **_trace(a, a.feature_names[i]),
        }
        for i in a.ranked(TOP_FEATURES)
    ]
    return {"bias": round(a.bias, 6), "top_features": top, "fields": _fields_json(a, full)}


def _fields_json(a: Activations, full: bool) -> dict[str, Any]:
    if a.fields is None:
        return {f: {"tokens": None, "running_probability": None} for f in a.field_names}
    fields = {}
    for name, fa in a.fields.items():
        entry: dict[str, Any] = {
            "tokens": fa.tokens,
            "running_probability": _floats(fa.running_probability),
        }
        if full:
            entry["forward"] = _floats(fa.forward, 5)
            entry["backward"] = _floats(fa.backward, 5)
        fields[name] = entry
    return fields


def to_csv(e: Explanation) -> str:
    """The grid in long form: one row per cell, with the units each prefix ends on."""
    g = e.grid
    rows, cols = g.fields[0], g.fields[1]
    header = [f"{rows.name}_prefix", f"{cols.name}_prefix", f"{rows.name}_added",
              f"{cols.name}_added", "probability"]  # fmt: skip
    cells = (
        [i + 1, j + 1, row_label, col_label, f"{g.probabilities[i, j]:.6f}"]
        for i, row_label in enumerate(rows.labels)
        for j, col_label in enumerate(cols.labels)
    )
    return csv_text([header, *cells])


def to_image(e: Explanation, fmt: str, scale: str = DEFAULT) -> bytes:
    g = e.grid
    rows, cols = g.fields[0], g.fields[1]
    return render_heatmap(
        g.probabilities,
        rows.labels,
        cols.labels,
        heading=rows.text,
        probability=g.probability,
        row_axis=f"{rows.name.capitalize()}, {rows.unit} by {rows.unit}",
        col_axis=f"{cols.name.capitalize()}, {cols.unit} by {cols.unit}",
        col_unit=cols.unit,
        fmt=fmt,
        scale=scale,
    )
