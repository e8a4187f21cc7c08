"""The result page (``/results/<id>``, the API's ``html_url``) and its downloads.

The page is the seed's Figure 2 made interactive: heat map, leave-one-out text and the
activation view, all rendered on the server from SQL rows; static/js/result.js only adds
the tooltip, keyboard movement and the values toggle. Downloads reuse the API's renderers
and Redis cache, authenticated by the session cookie instead of a token.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, render_template
from werkzeug.wrappers import Response as BaseResponse

from shared.models import Result, ResultStatus
from shared.results.stored import grid_csv, render_result, team_result
from web.downloads import cached_view, explain_json
from web.extensions import db
from web.pages.result_charts import activation_view
from web.pages.result_view import delta_scale, heatmap, legend_stops, loo_text
from web.session import current_team_id, login_required
from web.traces import ensure_traces

result_pages = Blueprint("result_pages", __name__)


def result_or_404(result_id: int) -> Result:
    """The result if it belongs to the current team; 404 otherwise (never 403: no leak)."""
    row = team_result(db.session, current_team_id(), result_id)
    if row is None:
        abort(404)
    return row


def explanation_view(result: Result, scale: float | None = None) -> dict[str, Any]:
    """Everything a result panel draws; ``scale`` shares the LOO colours across panels."""
    explain = explain_json(result)
    view: dict[str, Any] = {"result": result, "explain": explain}
    if result.status != ResultStatus.DONE:
        return view
    scale = scale or delta_scale(explain)
    view.update(
        hm=heatmap(explain),
        loo={f: loo_text(explain, f, scale) for f in explain["fields"]},
        scale=scale,
        stops=legend_stops(scale),
        activations=activation_view(explain["activations"]),
    )
    return view


@result_pages.get("/results/<id:result_id>")
@login_required
def result_page(result_id: int) -> str:
    result = result_or_404(result_id)
    traces = ensure_traces(result)
    return render_template("results/result.html", traces=traces, **explanation_view(result))


@result_pages.get("/results/<id:result_id>/heatmap.<any(png, svg):fmt>")
@login_required
def heatmap_image(result_id: int, fmt: str) -> BaseResponse:
    result = _done(result_id)
    return cached_view(result, fmt, lambda: render_result(db.session, result, fmt))


@result_pages.get("/results/<id:result_id>/grid.csv")
@login_required
def grid_download(result_id: int) -> BaseResponse:
    result = _done(result_id)
    return _attachment(
        grid_csv(db.session, result).encode(), "text/csv", f"result-{result_id}-grid.csv"
    )


@result_pages.get("/results/<id:result_id>/result.json")
@login_required
def json_download(result_id: int) -> BaseResponse:
    result = result_or_404(result_id)
    body = json.dumps(explain_json(result), ensure_ascii=False, indent=1)
    return _attachment(body.encode(), "application/json", f"result-{result_id}.json")


def _done(result_id: int) -> Result:
    result = result_or_404(result_id)
    if result.status != ResultStatus.DONE:
        abort(409, f"result {result_id} is {result.status}: downloads exist once it is done")
    return result


def _attachment(data: bytes, mimetype: str, filename: str) -> BaseResponse:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response
