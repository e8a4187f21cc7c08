"""The result page (``/results/<id>``, the API's ``html_url``) and its downloads.

The page is the seed's Figure 2 made interactive: heat map, leave-one-out text and the
activation view, all rendered on the server from SQL rows; static/js/result.js only adds
the tooltip, keyboard movement and the values toggle. Downloads reuse the API's renderers
and Redis cache, authenticated by the session cookie instead of a token.

The heat map's colour scale (shared.scales) is the user's remembered choice, stored by the
page's scale buttons (``POST /results/<id>/scale``); ``?scale=`` overrides it for one view.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from shared.figures import FIGURES
from shared.models import Result, ResultStatus
from shared.results.stored import NoFigure, grid_csv, team_result
from shared.scales import DEFAULT, NAMES, SCALES, Scale, parse_scale
from web.downloads import BadOption, explain_json, figure_view
from web.errors import sentence
from web.extensions import db
from web.pages.difference_view import revision_context
from web.pages.result_charts import activation_view, pooling_of
from web.pages.result_faithfulness import faithfulness_view
from web.pages.result_view import delta_scale, heatmap, legend_stops, loo_text
from web.session import current_team_id, current_user, login_required
from web.traces import ensure_traces

result_pages = Blueprint("result_pages", __name__)


def result_or_404(result_id: int) -> Result:
    """The result if it belongs to the current team; 404 otherwise (never 403: no leak)."""
    row = team_result(db.session, current_team_id(), result_id)
    if row is None:
        abort(404)
    return row


def remembered_scale() -> Scale:
    """The user's stored choice; a value no scale has (any more) reads as the default."""
    return parse_scale(current_user.heatmap_scale) or DEFAULT


def page_scale() -> tuple[Scale, str | None]:
    """``?scale=`` for this view, else the remembered choice; a bad value is ignored with a
    message (the page still works), where a download answers 400."""
    asked = request.args.get("scale")
    remembered = remembered_scale()
    if asked is None:
        return remembered, None
    scale = parse_scale(asked)
    if scale is None:
        return remembered, (
            f"There is no colour scale “{asked[:40]}”: showing {NAMES[remembered]}. "
            f"The scales are {', '.join(SCALES)}."
        )
    return scale, None


def explanation_view(
    result: Result,
    scale: float | None = None,
    *,
    colours: Scale = DEFAULT,
    half: float | None = None,
) -> dict[str, Any]:
    """Everything a result panel draws; ``scale`` shares the LOO colours across panels,
    ``colours`` is the heat map's scale and ``half`` shares its range (compare)."""
    explain = explain_json(result)
    view: dict[str, Any] = {"result": result, "explain": explain}
    if result.status != ResultStatus.DONE:
        return view
    scale = scale or delta_scale(explain)
    view.update(
        hm=heatmap(explain, colours, half),
        loo={f: loo_text(explain, f, scale) for f in explain["fields"]},
        scale=scale,
        stops=legend_stops(scale),
        activations=activation_view(explain["activations"], pooling_of(result)),
        faithfulness=faithfulness_view(explain),
    )
    return view


@result_pages.get("/results/<id:result_id>")
@login_required
def result_page(result_id: int) -> str:
    result = result_or_404(result_id)
    traces = ensure_traces(result)
    colours, problem = page_scale()
    view = explanation_view(result, colours=colours)
    return render_template(
        "results/result.html",
        **view,
        traces=traces,
        colours=colours,
        scale_problem=problem,
        names=NAMES,
        **revision_context(result, colours),
    )


@result_pages.post("/results/<id:result_id>/scale")
@login_required
def choose_scale(result_id: int) -> BaseResponse:
    """Remember the heat map scale the user picked, then show the result in it."""
    result_or_404(result_id)
    chosen = parse_scale(request.form.get("scale"))
    if chosen is None:
        flash(f"Choose one of the colour scales: {', '.join(SCALES)}.", "error")
    else:
        current_user.heatmap_scale = chosen.value
        db.session.commit()
    return redirect(url_for("result_pages.result_page", result_id=result_id, _anchor="hm-h"))


FIGURE_URL = "/results/<id:result_id>/<any(heatmap, loo, contributions):figure>.<any(png, svg):fmt>"


@result_pages.get(FIGURE_URL)
@login_required
def figure_image(result_id: int, figure: str, fmt: str) -> BaseResponse:
    """A figure (``?scale=``, ``?dpi=``, ``?title=``, as the API's), shown in a tab like any
    image unless ``?download=1`` (the form) asks the browser to save it."""
    result = _done(result_id)
    try:
        response = figure_view(result, figure, fmt, remembered_scale())
    except BadOption as exc:  # a file cannot carry a message: say it in a 400
        abort(400, sentence(str(exc)))
    except NoFigure as exc:
        abort(404, sentence(str(exc)))
    how = "attachment" if request.args.get("download") == "1" else "inline"
    response.headers["Content-Disposition"] = f'{how}; filename="result-{result_id}-{figure}.{fmt}"'
    return response


@result_pages.get("/results/<id:result_id>/figure")
@login_required
def figure_form(result_id: int) -> BaseResponse:
    """The page's download form (no JavaScript): figure, format (PNG at 150 or 300 dpi, or
    SVG) and the title checkbox, sent on to the figure's own address."""
    result_or_404(result_id)
    figure, kind = request.args.get("figure", ""), request.args.get("format", "")
    formats = {"png": ("png", "150"), "png300": ("png", "300"), "svg": ("svg", "150")}
    if figure not in FIGURES or kind not in formats:
        abort(400, f"Choose a figure ({', '.join(FIGURES)}) and a format ({', '.join(formats)}).")
    fmt, dpi = formats[kind]
    scale = parse_scale(request.args.get("scale")) or remembered_scale()
    title = "1" if request.args.get("title") else "0"
    target = url_for(".figure_image", result_id=result_id, figure=figure, fmt=fmt,
                     scale=scale.value, dpi=dpi, title=title, download=1)  # fmt: skip
    return redirect(target, code=303)


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
