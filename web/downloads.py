"""Serving a result's views (JSON, PNG, SVG) to the API and the pages.

A done result never changes, so each view is cached in Redis and carries a strong ETag (the
sha256 of the bytes); a client that sends it back in If-None-Match gets 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from shared.models import Result
from shared.results.stored import result_json
from web.extensions import cache, db

MIMETYPES = {"json": "application/json", "png": "image/png", "svg": "image/svg+xml"}
# Private: answers depend on the token or the cookie. Revalidating costs a 304, never a render.
CACHE_CONTROL = "private, no-cache"


def explain_json(result: Result) -> dict[str, Any]:
    """The result as the API and the JSON download give it, ``html_url`` naming its page."""
    url = url_for("result_pages.result_page", result_id=result.id)
    return result_json(db.session, result, html_url=url)


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
