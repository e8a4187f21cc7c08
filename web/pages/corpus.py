"""Corpus pages: what a job's papers (``/jobs/<id>/corpus``) or a history filter's results
(``/history/corpus?q=...``, the history page's parameters) say together, with the P
histogram and ROC curve as figures, the misclassified papers, the title words, the abstract
positions and the flips; the whole view as CSV and JSON, each figure as PNG and SVG.

The view is shared/results/corpus.py's, cached (shared/results/corpus_cache.py), so the page
and every download read the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from shared.manifest import CLASS_NAMES
from shared.models import JobStatus
from shared.results.corpus_files import FIGURES, NoFigure, corpus_csv
from web.downloads import (
    bytes_view,
    corpus_figure,
    corpus_json,
    history_corpus_figure,
    history_corpus_json,
)
from web.errors import sentence
from web.pages.history import parse_filter
from web.pages.jobs import compare_links, job_or_404
from web.session import current_team_id, login_required

corpus_pages = Blueprint("corpus_pages", __name__)
MISCLASSIFIED_SHOWN = 25  # on the page; the downloads have the view's 100
FIGURE = "/<any(histogram, roc):figure>.<any(png, svg):fmt>"


def _page(view: dict[str, Any], subject: dict[str, Any], link: Callable[..., str]) -> str:
    """The page for ``view``; ``link(endpoint_suffix, **kw)`` makes its download links."""
    return render_template(
        "corpus/corpus.html",
        view=view,
        subject=subject,
        classes=CLASS_NAMES,
        figures=FIGURES,
        link=link,
        misclassified_shown=MISCLASSIFIED_SHOWN,
    )


def _figure(draw: Callable[[], bytes], fmt: str) -> BaseResponse:
    try:
        return bytes_view(draw(), fmt)
    except NoFigure as exc:
        abort(404, sentence(str(exc)))


def _download(data: bytes, fmt: str, name: str) -> BaseResponse:
    if fmt == "csv":
        data = corpus_csv(json.loads(data)).encode()
    return bytes_view(data, fmt, f"{name}.{fmt}")


@corpus_pages.get("/jobs/<id:job_id>/corpus")
@login_required
def corpus_page(job_id: int) -> str:
    job = job_or_404(job_id)
    subject = {
        "heading": f"Job #{job.id}: the corpus",
        "crumbs": [("Jobs", url_for("job_pages.job_list")),
                   (f"#{job.id}", url_for("job_pages.job_page", job_id=job.id))],
        "units": {"title": job.title_unit, "abstract": job.abstract_unit},
        "live": None if JobStatus(job.status).finished else job.status,
        "group": compare_links(job),
    }  # fmt: skip
    link = lambda kind, **kw: url_for(f".job_{kind}", job_id=job.id, **kw)  # noqa: E731
    return _page(json.loads(corpus_json(job)), subject, link)


@corpus_pages.get("/jobs/<id:job_id>/corpus.<any(json, csv):fmt>")
@login_required
def job_download(job_id: int, fmt: str) -> BaseResponse:
    return _download(corpus_json(job_or_404(job_id)), fmt, f"job-{job_id}-corpus")


@corpus_pages.get(f"/jobs/<id:job_id>/corpus{FIGURE}")
@login_required
def job_image(job_id: int, figure: str, fmt: str) -> BaseResponse:
    job = job_or_404(job_id)
    return _figure(lambda: corpus_figure(job, figure, fmt), fmt)


def _filter_args() -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if k != "after" and v}


@corpus_pages.get("/history/corpus")
@login_required
def history_page() -> str:
    f, _ = parse_filter(request.args)
    args = _filter_args()
    subject = {
        "heading": "History: the corpus" + (" of the filtered results" if f.active else ""),
        "crumbs": [("History", url_for("history_pages.history", **args))],
        "units": {"title": "unit", "abstract": "unit"},
        "live": None,
    }
    link = lambda kind, **kw: url_for(f".history_{kind}", **args, **kw)  # noqa: E731
    return _page(json.loads(history_corpus_json(current_team_id(), f)), subject, link)


@corpus_pages.get("/history/corpus.<any(json, csv):fmt>")
@login_required
def history_download(fmt: str) -> BaseResponse:
    f, _ = parse_filter(request.args)
    return _download(history_corpus_json(current_team_id(), f), fmt, "history-corpus")


@corpus_pages.get(f"/history/corpus{FIGURE}")
@login_required
def history_image(figure: str, fmt: str) -> BaseResponse:
    f, _ = parse_filter(request.args)
    return _figure(lambda: history_corpus_figure(current_team_id(), f, figure, fmt), fmt)
