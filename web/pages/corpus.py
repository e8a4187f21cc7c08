"""A job's corpus page (``/jobs/<id>/corpus``): what its papers say together, with the P
histogram and ROC curve as figures, the misclassified papers, the title words, the abstract
positions and the flips; the whole view as CSV and JSON, each figure as PNG and SVG.

The view is shared/results/corpus.py's, cached once the job is finished, so the page and
every download read the same numbers.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, render_template
from werkzeug.wrappers import Response as BaseResponse

from shared.manifest import CLASS_NAMES
from shared.results.corpus_files import FIGURES, NoFigure, corpus_csv
from web.downloads import bytes_view, corpus_figure, corpus_json
from web.errors import sentence
from web.pages.jobs import job_or_404
from web.session import login_required

corpus_pages = Blueprint("corpus_pages", __name__)
MISCLASSIFIED_SHOWN = 25  # on the page; the downloads have the view's 100


@corpus_pages.get("/jobs/<id:job_id>/corpus")
@login_required
def corpus_page(job_id: int) -> str:
    job = job_or_404(job_id)
    view = json.loads(corpus_json(job))
    return render_template(
        "jobs/corpus.html",
        job=job,
        view=view,
        classes=CLASS_NAMES,
        figures=FIGURES,
        misclassified_shown=MISCLASSIFIED_SHOWN,
    )


@corpus_pages.get("/jobs/<id:job_id>/corpus.<any(json, csv):fmt>")
@login_required
def corpus_download(job_id: int, fmt: str) -> BaseResponse:
    job = job_or_404(job_id)
    data = corpus_json(job)
    if fmt == "csv":
        data = corpus_csv(json.loads(data)).encode()
    return bytes_view(data, fmt, f"job-{job_id}-corpus.{fmt}")


@corpus_pages.get("/jobs/<id:job_id>/corpus/<any(histogram, roc):figure>.<any(png, svg):fmt>")
@login_required
def corpus_image(job_id: int, figure: str, fmt: str) -> BaseResponse:
    job = job_or_404(job_id)
    try:
        data = corpus_figure(job, figure, fmt)
    except NoFigure as exc:
        abort(404, sentence(str(exc)))
    return bytes_view(data, fmt)
