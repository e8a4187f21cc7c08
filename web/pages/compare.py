"""``/compare``: two results of the team, picked from its history with a search box each.

A plain GET form: each side has a search (``qa``, ``qb``: title, abstract or external id,
``shared.results.history``) listing the newest matches as radio buttons (``a``, ``b``), so
nobody types a result number; any button sends the whole form, so every value survives an
error. History's "Compare selected" sends ``?r=<id>&r=<id>``, taken as a and b.

Two views (``view``): side by side (heat maps on the user's colour scale over one range,
leave-one-out colours on one scale, so equal colours mean equal effects on both sides), or
the difference view of web/pages/difference_view.py (B minus A where the units correspond).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, render_template, request

from shared.models import Result, ResultStatus
from shared.results.history import MAX_QUERY, newest_matching
from shared.results.revisions import revises
from shared.results.stored import team_result
from web.downloads import explain_json
from web.extensions import db
from web.pages.difference_view import difference_view
from web.pages.result_view import delta_scale, shared_half
from web.pages.results import explanation_view, page_scale
from web.params import positive_int
from web.session import current_team_id, login_required

compare_pages = Blueprint("compare_pages", __name__)
PICKS = 8  # matches listed under each search box
VIEWS = {"side": "Side by side", "difference": "Difference"}


@dataclass
class Side:
    """One side of the form: its search, the result chosen, and the matches to pick from."""

    key: str  # "a" or "b", the radio buttons' name
    q: str
    chosen: Result | None = None
    matches: list[Result] = field(default_factory=list)
    more: bool = False  # more matches than listed
    missing: bool = False  # the id sent is no result of the team's

    @property
    def name(self) -> str:
        return self.key.upper()

    @property
    def options(self) -> list[Result]:
        """The chosen result first when the search no longer lists it, so it stays picked."""
        listed = [r.id for r in self.matches]
        if self.chosen is not None and self.chosen.id not in listed:
            return [self.chosen, *self.matches]
        return self.matches


def picked_ids() -> tuple[str, str, list[str]]:
    """The a and b ids as sent (strings, for the form) and any problem with the choice."""
    ticked = [r for r in request.args.getlist("r") if r.strip()]
    a = request.args.get("a", "").strip() or (ticked[0] if ticked else "")
    b = request.args.get("b", "").strip() or (ticked[1] if len(ticked) > 1 else "")
    problems = []
    if len(ticked) > 2:
        problems.append(f"You ticked {len(ticked)} results; comparing the first two.")
    elif len(ticked) == 1 and not request.args.get("b"):
        problems.append("Tick two results to compare; choose the second below.")
    for name, value in (("A", a), ("B", b)):
        if value and positive_int(value, None) is None:
            problems.append(f"Result {name} must be a result number, not “{value[:20]}”.")
    if a and positive_int(a, None) is not None and positive_int(a, None) == positive_int(b, None):
        problems.append(f"A and B are both result {a}: choose two different results.")
    return a, b, problems


def _side(key: str, chosen_id: str, problems: list[str]) -> Side:
    side = Side(key, " ".join(request.args.get(f"q{key}", "").split())[:MAX_QUERY])
    number = positive_int(chosen_id, None)
    if number is not None:
        side.chosen = team_result(db.session, current_team_id(), number)
        side.missing = side.chosen is None
        if side.missing:
            problems.append(f"Your team has no result {number} (result {side.name}).")
    found = newest_matching(db.session, current_team_id(), side.q, PICKS + 1)
    side.matches, side.more = found[:PICKS], len(found) > PICKS
    return side


def _views(a: Result, b: Result) -> tuple[list[dict[str, Any]], str | None]:
    explains = [explain_json(r) for r in (a, b) if r.status == ResultStatus.DONE]
    scale = delta_scale(*explains)
    colours, problem = page_scale()
    half = shared_half(colours, *explains)
    return [explanation_view(r, scale, colours=colours, half=half) for r in (a, b)], problem


def _relation(a: Result, b: Result) -> str:
    if a.id in revises(db.session, a.team_id, b.id):
        return f"B is an edit of A (result {b.id} revises {a.id})."
    if a.paper_id == b.paper_id and a.model_id != b.model_id:
        return "One paper under two models."
    if a.model_id == b.model_id:
        return f"Two papers under {a.model.name} {a.model.version}."
    return "Two papers under different models."


@compare_pages.get("/compare")
@login_required
def compare() -> Any:
    current_team_id()  # a user without a team gets 403 here, before any lookup
    a_id, b_id, problems = picked_ids()
    sides = [_side("a", a_id, problems), _side("b", b_id, problems)]
    a, b = sides[0].chosen, sides[1].chosen
    view = request.args.get("view") if request.args.get("view") in VIEWS else "side"
    context: dict[str, Any] = {"views": [], "relation": "", "difference": None}
    if a is not None and b is not None and a.id != b.id:
        (context["views"], problem), context["relation"] = _views(a, b), _relation(a, b)
        problems += [problem] if problem else []
        if view == "difference":
            context["difference"] = difference_view(a, b, page_scale()[0])
    page = render_template(
        "compare/compare.html", sides=sides, problems=problems, view=view, names=VIEWS, **context
    )
    return page, 404 if any(s.missing for s in sides) else 200
