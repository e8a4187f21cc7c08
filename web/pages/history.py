"""``/history`` (and ``/``, which leads there): every result of the team, newest first,
searchable and filterable.

The query lives in :mod:`shared.results.history` (keyset pages, a capped count); this view only
reads the form, says which values it could not use, and renders. Ticking two results and
pressing "Compare selected" sends them to ``/compare?r=..&r=..``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from shared.models import ResultStatus
from shared.results.history import Cursor, HistoryFilter, history_page, team_models, team_submitters
from web.extensions import db
from web.pages.result_view import colour_class
from web.params import MAX_ID, positive_int
from web.session import current_team_id, login_required

history_pages = Blueprint("history_pages", __name__)


@history_pages.get("/")
def home() -> Response:
    """The address ``occlab run`` prints: the team's history (after logging in, if need be)."""
    return redirect(url_for(".history"))


def _number(args: MultiDict[str, str], name: str, problems: list[str]) -> float | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        problems.append(f"{name.replace('_', ' ')} must be a number from 0 to 1; ignored")
        return None
    return value


def _date(args: MultiDict[str, str], name: str, problems: list[str]) -> date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name} must be a date like 2026-01-31; ignored")
        return None


def _id(args: MultiDict[str, str], name: str) -> int | None:
    return positive_int(args.get(name), None)


def parse_filter(args: MultiDict[str, str]) -> tuple[HistoryFilter, list[str]]:
    """The filter the form asks for, and a message for each value that made no sense."""
    problems: list[str] = []
    f = HistoryFilter(
        q=" ".join(args.get("q", "").split()),
        model_id=_id(args, "model"),
        p_min=_number(args, "p_min", problems),
        p_max=_number(args, "p_max", problems),
        since=_date(args, "since", problems),
        until=_date(args, "until", problems),
        submitter_id=_id(args, "submitter"),
        status=_status(args, problems),
    )
    return f, problems


def _status(args: MultiDict[str, str], problems: list[str]) -> ResultStatus | None:
    raw = args.get("status", "").strip()
    if not raw:
        return None
    if raw not in set(ResultStatus):
        problems.append(f"status must be one of {', '.join(ResultStatus)}; ignored")
        return None
    return ResultStatus(raw)


def _query_without_cursor() -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if k != "after" and v}


@history_pages.get("/history")
@login_required
def history() -> str:
    team_id = current_team_id()
    f, problems = parse_filter(request.args)
    cursor = Cursor.parse(request.args.get("after"))
    if cursor is not None and not 0 < cursor.id <= MAX_ID:
        cursor = None  # a hand-edited link: start over rather than fail in the database
    page = history_page(db.session, team_id, f, cursor)
    return render_template(
        "history/history.html",
        page=page,
        f=f,
        problems=problems,
        first_page=cursor is None,
        models=team_models(db.session, team_id),
        submitters=team_submitters(db.session, team_id),
        statuses=list(ResultStatus),
        query=_query_without_cursor(),
        colour_class=colour_class,
    )
