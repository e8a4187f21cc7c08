"""``/api/v1/results``: one paper's explanation as JSON and its figures (the heat map, the
leave-one-out text, the contributions) as PNG or SVG.

A done result's views are served through :func:`web.downloads.cached_view` (Redis, strong
ETags, 304s). A result that is not done is answered from SQL each time, uncached, with its status.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request
from sqlalchemy import exists, select
from werkzeug.wrappers import Response as BaseResponse

from shared.models import Job, JobItem, Result, ResultStatus, TracesStatus
from shared.results.stored import NoFigure, labelled_view, result_label, team_result
from shared.scales import DEFAULT
from web.api.tokens import require_token, team_id
from web.downloads import BadOption, cached_view, explain_json, figure_view
from web.errors import ApiError
from web.extensions import db
from web.params import positive_int
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
    never served once the traces are stored.

    ``?job=<id>``: the paper's label is that job's item's; without it, the team's latest."""
    result = result_or_404(result_id)
    job_id = _job_context(result)
    if result.status != ResultStatus.DONE:
        response = jsonify(explain_json(result, job_id))
        response.headers["Cache-Control"] = "no-store"
        return response
    view = "json-pending" if ensure_traces(result) == TracesStatus.PENDING else "json"
    key = labelled_view(view, result_label(db.session, result, job_id))
    return cached_view(result, "json", lambda: _json_bytes(result, job_id), key=key)


def _json_bytes(result: Result, job_id: int | None) -> bytes:
    return json.dumps(explain_json(result, job_id), ensure_ascii=False).encode()


def _job_context(result: Result) -> int | None:
    """``?job=``: a job of the team's that holds the result (else 404), or None."""
    raw = request.args.get("job")
    if raw is None:
        return None
    job_id = positive_int(raw, None)
    if job_id is None:
        raise ApiError(400, f"job must be a job id (a whole number), not {raw[:40]!r}")
    held = exists().where(
        JobItem.job_id == job_id,
        JobItem.result_id == result.id,
        Job.id == JobItem.job_id,
        Job.team_id == result.team_id,
    )
    if not db.session.scalar(select(held)):
        raise ApiError(404, f"result {result.id} is not in a job {job_id} of your team")
    return job_id


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
