"""``/compare?a=<id>&b=<id>``: two results side by side on one colour scale.

Two papers under one model, or one paper under two models. The heat maps share the user's
colour scale (or ``?scale=``) over one range, the wider of the two, and the leave-one-out
colours share one delta scale, the larger of the two, so equal colours mean equal effects
on both sides. History's
"Compare selected" sends ``?r=<id>&r=<id>``, taken as a and b.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from shared.models import Result, ResultStatus
from web.downloads import explain_json
from web.pages.result_view import delta_scale, shared_half
from web.pages.results import explanation_view, page_scale, result_or_404
from web.params import positive_int
from web.session import current_team_id, login_required

compare_pages = Blueprint("compare_pages", __name__)


def picked_ids() -> tuple[str, str, list[str]]:
    """The a and b ids as typed (strings, for the form) and any problem with the choice."""
    ticked = [r for r in request.args.getlist("r") if r.strip()]
    a = request.args.get("a", "").strip() or (ticked[0] if ticked else "")
    b = request.args.get("b", "").strip() or (ticked[1] if len(ticked) > 1 else "")
    problems = []
    if len(ticked) > 2:
        problems.append(f"You ticked {len(ticked)} results; comparing the first two.")
    elif len(ticked) == 1 and not request.args.get("b"):
        problems.append("Tick two results to compare; enter the second id below.")
    for name, value in (("A", a), ("B", b)):
        if value and positive_int(value, None) is None:
            problems.append(f"Result {name} must be a result number, not “{value}”.")
    if a and positive_int(a, None) is not None and positive_int(a, None) == positive_int(b, None):
        problems.append(f"A and B are both result {a}: choose two different results.")
    return a, b, problems


def _views(a: Result, b: Result) -> tuple[list[dict[str, Any]], str | None]:
    explains = [explain_json(r) for r in (a, b) if r.status == ResultStatus.DONE]
    scale = delta_scale(*explains)
    colours, problem = page_scale()
    half = shared_half(colours, *explains)
    return [explanation_view(r, scale, colours=colours, half=half) for r in (a, b)], problem


def _relation(a: Result, b: Result) -> str:
    if a.paper_id == b.paper_id and a.model_id != b.model_id:
        return "One paper under two models."
    if a.model_id == b.model_id:
        return f"Two papers under {a.model.name} {a.model.version}."
    return "Two papers under different models."


@compare_pages.get("/compare")
@login_required
def compare() -> str:
    current_team_id()  # a user without a team gets 403 here, before any lookup
    a_id, b_id, problems = picked_ids()
    views: list[dict[str, Any]] = []
    relation = ""
    a_num, b_num = positive_int(a_id, None), positive_int(b_id, None)
    if a_num is not None and b_num is not None and a_num != b_num:
        a, b = result_or_404(a_num), result_or_404(b_num)
        (views, problem), relation = _views(a, b), _relation(a, b)
        problems += [problem] if problem else []
    return render_template(
        "compare/compare.html",
        a_id=a_id,
        b_id=b_id,
        problems=problems,
        views=views,
        relation=relation,
    )
