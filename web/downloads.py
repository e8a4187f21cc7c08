"""Serving a result's views (JSON, PNG, SVG) to the API and the pages.

A done result never changes, so each view is cached in Redis and carries a strong ETag (the
sha256 of the bytes); a client that sends it back in If-None-Match gets 304. The one change,
a bulk result's traces arriving, gives its JSON a new cache key (web/api/results.py). A heat
map, the leave-one-out text and the contributions are each one view per format, colour
scale (``?scale=``, the heat map's), dpi (``?dpi=``, PNG) and title (``?title=0`` leaves it
off), each cached under a key of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, request, stream_with_context, url_for
from werkzeug.wrappers import Response as BaseResponse

from shared.figures import DPIS
from shared.models import Job, Result
from shared.results.corpus_cache import (
    cached_history,
    cached_job,
    history_view_json,
    job_view_json,
)
from shared.results.corpus_files import render_figure
from shared.results.export import job_csv, job_jsonl, problems_csv
from shared.results.history import HistoryFilter
from shared.results.stored import render_result, result_json, result_label
from shared.scales import SCALES, Scale, parse_scale
from web.extensions import cache, db

MIMETYPES = {
    "json": "application/json",
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv",
}
# Private: answers depend on the token or the cookie. Revalidating costs a 304, never a render.
CACHE_CONTROL = "private, no-cache"


def explain_json(result: Result, job_id: int | None = None) -> dict[str, Any]:
    """The result as the API and the JSON download give it, ``html_url`` naming its page,
    with the paper's label in job ``job_id`` (else the team's latest, ``result_label``)."""
    url = url_for("result_pages.result_page", result_id=result.id)
    label = result_label(db.session, result, job_id)
    return result_json(db.session, result, html_url=url, label=label)


EXPORTS = {"csv": "text/csv", "jsonl": "application/jsonl"}


def job_export(job: Job, fmt: str) -> Response:
    """A whole job's results, streamed page by page (constant memory at any job size).
    Not cached: a running job's export grows as its papers are computed."""
    if fmt == "csv":
        chunks = job_csv(db.session, job.id)
    else:
        page = lambda rid: url_for("result_pages.result_page", result_id=rid)  # noqa: E731
        chunks = job_jsonl(db.session, job.id, page)
    return _attachment(chunks, EXPORTS[fmt], f"job-{job.id}-results.{fmt}")


def job_problems(job: Job) -> Response:
    """The rows the job left out, as CSV: line, field, reason."""
    return _attachment(problems_csv(db.session, job.id), "text/csv", f"job-{job.id}-problems.csv")


def _attachment(chunks: Iterator[str], mimetype: str, name: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


class BadOption(ValueError):
    """A figure's query names no colour scale, dpi or title choice it has."""


TITLE_CHOICES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def figure_options(default: Scale) -> tuple[Scale, int, bool]:
    """``?scale=`` (else ``default``), ``?dpi=`` (150 or 300) and ``?title=`` (1 or 0)."""
    asked = request.args.get("scale")
    scale = default if asked is None else parse_scale(asked)
    if scale is None:
        raise BadOption(f"scale must be one of {', '.join(SCALES)}; got {str(asked)[:40]!r}")
    dpi_text = request.args.get("dpi", str(DPIS[0]))
    if dpi_text not in {str(d) for d in DPIS}:
        raise BadOption(f"dpi must be one of {', '.join(map(str, DPIS))}; got {dpi_text[:40]!r}")
    title = TITLE_CHOICES.get(request.args.get("title", "1").strip().lower())
    if title is None:
        raise BadOption("title must be 1 (the paper's title and P on top) or 0 (none)")
    return scale, int(dpi_text), title


def figure_view(result: Result, figure: str, fmt: str, default: Scale) -> BaseResponse:
    """A done result's figure (shared.figures.FIGURES) with the query's options; BadOption
    for a bad one, shared.results.stored.NoFigure when it has nothing to draw."""
    scale, dpi, title = figure_options(default)
    render = lambda: render_result(  # noqa: E731
        db.session, result, fmt, scale, figure=figure, dpi=dpi, title=title
    )
    # The scale colours the heat map only, the dpi only a PNG: other figures share a key.
    key = [figure, fmt, scale if figure == "heatmap" else "", f"{dpi}dpi" if fmt == "png" else ""]
    key.append("titled" if title else "bare")  # e.g. heatmap.svg.logodds.titled
    return cached_view(result, fmt, render, key=".".join(k for k in key if k))


def cached_view(
    result: Result, view: str, render: Callable[[], bytes], key: str | None = None
) -> BaseResponse:
    """Serve ``view`` of a done result from the cache (under ``key``, default ``view``),
    rendering (and storing) on a miss."""
    key = key or view
    data = cache.views.get(result.id, key)
    if data is None:
        data = render()
        cache.views.set(result.id, key, data)
    response = Response(data, mimetype=MIMETYPES[view])
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response.make_conditional(request)


def corpus_json(job: Job) -> bytes:
    """The job's corpus view (shared/results/corpus.py), cached once the job is finished."""
    return job_view_json(db.session, job, cache.views)


def corpus_figure(job: Job, figure: str, fmt: str) -> bytes:
    """A figure of the job's corpus view; ``NoFigure`` when there is nothing to draw."""
    draw = lambda: render_figure(json.loads(corpus_json(job)), figure, fmt)  # noqa: E731
    return cached_job(cache.views, job, f"corpus.{figure}.{fmt}", draw)


def history_corpus_json(team_id: int, f: HistoryFilter) -> bytes:
    """The corpus view of the team's results matching ``f``, cached while nothing changes."""
    return history_view_json(db.session, team_id, f, cache.views)


def history_corpus_figure(team_id: int, f: HistoryFilter, figure: str, fmt: str) -> bytes:
    draw = lambda: render_figure(json.loads(history_corpus_json(team_id, f)), figure, fmt)  # noqa: E731
    return cached_history(db.session, team_id, f, cache.views, f"{figure}.{fmt}", draw)


def bytes_view(data: bytes, fmt: str, filename: str | None = None) -> BaseResponse:
    """``data`` with a strong ETag (304 on If-None-Match), as an attachment if named."""
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = CACHE_CONTROL
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response.make_conditional(request)
