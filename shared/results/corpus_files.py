"""A corpus view (shared/results/corpus.py) as downloads: its figures as PNG or SVG, and the
whole view as one CSV in long form (section, item, measure, value), which a spreadsheet or
pandas pivots back into tables.

Figures are drawn from the view's JSON, never from SQL, so a cached view draws without the
database; matplotlib without pyplot, as shared/heatmap.py does (thread-safe, no torch).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from shared.figures import save
from shared.text import csv_text

FIGURES = ("histogram", "roc")
FORMATS = ("png", "svg")
DPI = 150
_BLUE, _RED, _GREY = "#2166ac", "#b2182b", "#888888"


class NoFigure(ValueError):
    """The view has nothing to draw in that figure (no labels: no ROC curve)."""


def render_figure(view: dict[str, Any], figure: str, fmt: str) -> bytes:
    if figure not in FIGURES or fmt not in FORMATS:
        raise NoFigure(f"figure must be one of {', '.join(FIGURES)}, as {' or '.join(FORMATS)}")
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    if figure == "histogram":
        _histogram(fig, view)
    else:
        _roc(fig, view)
    return save(fig, fmt, DPI)


def _histogram(fig: Figure, view: dict[str, Any]) -> None:
    hist = view["probability_histogram"]
    edges, counts = hist["edges"], hist["counts"]
    ax = fig.add_subplot()
    colours = [_BLUE if lo >= 0.5 else _RED for lo in edges[:-1]]
    ax.bar(edges[:-1], counts, width=0.1, align="edge", color=colours, edgecolor="white")
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(computational)")
    ax.set_ylabel("Papers")
    ax.set_title(f"{view['n']:,} papers by P", fontsize=10)
    ax.axvline(0.5, color=_GREY, linewidth=0.8, linestyle="--")


def _roc(fig: Figure, view: dict[str, Any]) -> None:
    labels = view.get("labels")
    if not labels or labels["roc_auc"] is None:
        raise NoFigure("the ROC curve needs labelled papers of both classes")
    curve = labels["roc_curve"]
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color=_GREY, linewidth=0.8, linestyle="--")
    ax.plot(curve["fpr"], curve["tpr"], color=_BLUE, linewidth=1.6, drawstyle="default")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_title(f"ROC, AUC {labels['roc_auc']:.3f} ({labels['n']:,} labelled)", fontsize=10)


CSV_HEADER = ("section", "item", "measure", "value")


def corpus_csv(view: dict[str, Any]) -> str:
    return csv_text([CSV_HEADER, *_rows(view)])


def _rows(view: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    yield "summary", "", "n", view["n"]
    hist = view["probability_histogram"]
    for lo, hi, count in zip(hist["edges"], hist["edges"][1:], hist["counts"], strict=False):
        yield "probability_histogram", f"{lo:g}-{hi:g}", "papers", count
    yield from _label_rows(view.get("labels"))
    yield from _table("words", view["words"], "word")
    for end, rows in view["abstract_positions"].items():
        yield from _table(f"abstract_positions_{end}", rows, "position")
    flips = view["flips"]
    for key in ("papers", "along_title", "along_abstract"):
        yield "flips", "", key, flips[key]
    yield from _table("flips_title_words", flips["title_words"], "word")
    for end, rows in flips["abstract_positions"].items():
        yield from _table(f"flips_abstract_positions_{end}", rows, "position")
    for name, value in view.items():  # sections added later (faithfulness), flattened
        if name not in _KNOWN and isinstance(value, dict):
            yield from (
                (name, "", k, v) for k, v in value.items() if not isinstance(v, dict | list)
            )


_KNOWN = {"job_id", "n", "probability_histogram", "labels", "words", "abstract_positions", "flips"}


def _label_rows(labels: dict[str, Any] | None) -> Iterator[tuple[Any, ...]]:
    if labels is None:
        return
    for key in ("n", "positives", "accuracy", "roc_auc", "threshold"):
        yield "labels", "", key, labels[key]
    for key, count in labels["confusion"].items():
        yield "labels", "confusion", key, count
    curve = labels["roc_curve"]
    for n, (t, tpr, fpr) in enumerate(
        zip(curve["thresholds"], curve["tpr"], curve["fpr"], strict=True)
    ):
        yield from (
            ("roc_curve", n, "threshold", t),
            ("roc_curve", n, "tpr", tpr),
            ("roc_curve", n, "fpr", fpr),
        )
    for paper in labels["misclassified"]["papers"]:
        rid = paper["result_id"]
        yield from (("misclassified", rid, k, v) for k, v in paper.items() if k != "result_id")


def _table(section: str, rows: list[dict[str, Any]], key: str) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield from ((section, row[key], k, v) for k, v in row.items() if k != key)
