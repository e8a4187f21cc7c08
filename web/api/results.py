"""``/api/v1/results``: one paper's explanation as JSON and its figures (the heat map, the
leave-one-out text, the contributions) as PNG or SVG.

A done result's views are served through :func:`web.downloads.cached_view` (Redis, strong
ETags, 304s). A result that is not done is answered from SQL each time, uncached, with its status.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response as BaseResponse

from shared.models import Result, ResultStatus, TracesStatus
from shared.results.stored import NoFigure, team_result
from shared.scales import DEFAULT
from web.api.tokens import require_token, team_id
from web.downloads import BadOption, cached_view, explain_json, figure_view
from web.errors import ApiError
from web.extensions import db
from web.traces import ensure_traces

blueprint = Blueprint("results", __name__)


def result_or_404(result_id: int) -> Result:
    row = team_result(db.session, team_id(), result_id)
    if row is None:
        raise ApiError(404, f"no result {result_id} in your team")
    return row


@blueprint.get("/results/<id:result_id>")
@require_token
def get_result(result_id: int) -> BaseResponse:
    """Not done yet: 200 with its status and the explanation keys as null (documented).

    Done without per-token traces (the bulk profile): the traces are asked for once, and
    the JSON says ``traces_status: pending``, cached under a key of its own so that it is
    never served once the traces are stored."""
    result = result_or_404(result_id)
    if result.status != ResultStatus.DONE:
        response = jsonify(explain_json(result))
        response.headers["Cache-Control"] = "no-store"
        return response
    view = "json-pending" if ensure_traces(result) == TracesStatus.PENDING else "json"
    return cached_view(result, "json", lambda: _json_bytes(result), key=view)


def _json_bytes(result: Result) -> bytes:
    return json.dumps(explain_json(result), ensure_ascii=False).encode()


FORMATS = "<any(png, svg):fmt>"


@blueprint.get(f"/results/<id:result_id>/heatmap.{FORMATS}", defaults={"figure": "heatmap"})
@blueprint.get(f"/results/<id:result_id>/loo.{FORMATS}", defaults={"figure": "loo"})
@blueprint.get(
    f"/results/<id:result_id>/contributions.{FORMATS}", defaults={"figure": "contributions"}
)
@require_token
def get_figure(result_id: int, figure: str, fmt: str) -> BaseResponse:
    result = result_or_404(result_id)
    if result.status != ResultStatus.DONE:
        raise ApiError(
            409,
            f"result {result_id} is {result.status}: its figures exist once it is done",
        )
    # Not the user's page choice: a script's downloads must not change when they click.
    try:
        return figure_view(result, figure, fmt, DEFAULT)
    except BadOption as exc:
        raise ApiError(400, str(exc)) from exc
    except NoFigure as exc:
        raise ApiError(404, str(exc)) from exc
