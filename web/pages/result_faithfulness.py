"""What the result page's faithfulness panel draws, from the explain JSON's ``faithfulness``
and ``minimal_flip`` (``shared.engine.faithfulness`` defines them): the scores, and the
deletion curve's geometry for templates/results/_faithfulness.html.

P_c is the probability of the class the whole paper is given; the curve starts at the whole
paper (nothing deleted) and ends with every unit deleted.
"""

from __future__ import annotations

from typing import Any

from web.pages.result_charts import line_chart
from web.pages.result_view import short

CLASSES = ("not computational", "computational")  # the page's names for P < 0.5 and >= 0.5


def _k(q: str, n: int) -> int:
    """ceil(q x n) for the keys "0.1" .. "0.5", in integers (0.3 x 10 is 3, not 4)."""
    tenths = int(q.removeprefix("0."))
    return (tenths * n + 9) // 10


def _flip(flip: dict[str, Any] | None) -> dict[str, Any] | None:
    if not flip:
        return None
    units = [
        {"field": u["field"], "index": u["index"] + 1, "text": short(u["text"], 120)}
        for u in flip["units"]
    ]
    return {**flip, "units": units, "label": CLASSES[flip["probability"] >= 0.5]}


def faithfulness_view(explain: dict[str, Any]) -> dict[str, Any] | None:
    """The panel's numbers and chart; None when the result has no faithfulness (computed
    before it was measured)."""
    faith = explain.get("faithfulness")
    if not faith or explain.get("probability") is None:
        return None
    p = float(explain["probability"])
    label = CLASSES[p >= 0.5]
    curve = [float(v) for v in faith["deletion_curve"]]
    n = len(curve)
    chart = line_chart(
        [p if p >= 0.5 else 1.0 - p, *curve],
        ["whole paper", *(f"top {k} deleted" for k in range(1, n + 1))],
        0.0,
        1.0,
        0.5,
    )
    for k, point in enumerate(chart["points"]):
        point["k"] = k  # units deleted: the x axis's ticks
    flip = _flip(explain.get("minimal_flip"))
    suff = faith["sufficiency"]
    if flip is not None:
        chart["flip"] = chart["points"][flip["k"]]
    cuts = [
        {"percent": round(float(q) * 100), "k": _k(q, n), "deleted": c, "kept": suff[q]}
        for q, c in faith["comprehensiveness"].items()
    ]
    return {
        "label": label,
        "units": n,
        "aopc_comprehensiveness": faith["aopc_comprehensiveness"],
        "aopc_sufficiency": faith["aopc_sufficiency"],
        "cuts": cuts,
        "chart": chart,
        "flip": flip,
    }
