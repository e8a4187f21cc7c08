"""``/api/v1/results``: one paper's explanation as JSON and as a heat map.

A done result never changes, so its rendered views are cached in Redis and carry a strong
ETag (the sha256 of the bytes); a client that sends it back in If-None-Match gets 304.
A result that is not done is answered from SQL each time, uncached, with its status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from shared.models import Result
from shared.results import render_result, result_json
from web.auth import require_token, team_id
from web.errors import ApiError
from web.extensions import cache, db

results = Blueprint("results", __name__)
MIMETYPES = {"json": "application/json", "png": "image/png", "svg": "image/svg+xml"}
# Private: answers depend on the token. Revalidating costs a 304, never a render.
CACHE_CONTROL = "private, no-cache"


def team_result(result_id: int) -> Result:
    row = db.session.scalar(
        select(Result).where(Result.id == result_id, Result.team_id == team_id())
    )
    if row is None:
        raise ApiError(404, f"no result {result_id} in your team")
    return row


@results.get("/results/<int:result_id>")
@require_token
def get_result(result_id: int) -> BaseResponse:
    """Not done yet: 200 with its status and the explanation keys as null (documented)."""
    result = team_result(result_id)
    if result.status != "done":
        response = jsonify(result_json(db.session, result))
        response.headers["Cache-Control"] = "no-store"
        return response
    return cached_view(result, "json", lambda: _json_bytes(result))


def _json_bytes(result: Result) -> bytes:
    return json.dumps(result_json(db.session, result), ensure_ascii=False).encode()


@results.get("/results/<int:result_id>/heatmap.<any(png, svg):fmt>")
@require_token
def get_heatmap(result_id: int, fmt: str) -> BaseResponse:
    result = team_result(result_id)
    if result.status != "done":
        raise ApiError(
            409,
            f"result {result_id} is {result.status}: its heat map exists once it is done",
        )
    return cached_view(result, fmt, lambda: render_result(db.session, result, fmt))


def cached_view(result: Result, view: str, render: Callable[[], bytes]) -> BaseResponse:
    """Serve ``view`` of a done result from the cache, rendering (and storing) on a miss."""
    data = cache.views.get(result.id, view)
    if data is None:
        data = render()
        cache.views.set(result.id, view, data)
    response = Response(data, mimetype=MIMETYPES[view])
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response.make_conditional(request)
