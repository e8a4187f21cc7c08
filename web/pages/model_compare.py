"""``/jobs/<id>/compare/<other id>``: the same papers under two models (two jobs of one
group, ``jobs.group_id``) compared decision by decision, with its CSV.

The numbers are shared/results/model_comparison.py's SQL; each row links to the compare
page's difference view of its two results (both heat maps on one colour scale and the
difference grid). Both jobs must be the team's and of one group, else 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, stream_with_context, url_for

from shared.manifest import CLASS_NAMES
from shared.models import Job
from shared.results import model_comparison as mc
from web.extensions import db
from web.pages.job_progress import ITEMS_PER_PAGE, pages
from web.pages.jobs import job_or_404, page_arg
from web.session import login_required

model_compare_pages = Blueprint("model_compare_pages", __name__)
SORT_NAMES = {"delta": "|ΔP| largest first", "position": "as submitted"}


def group_pair(job_id: int, other_id: int) -> tuple[Job, Job]:
    """Both jobs, the team's and of one group; 404 otherwise (as for a job not there)."""
    job, other = job_or_404(job_id), job_or_404(other_id)
    if job.id == other.id or job.group_id is None or job.group_id != other.group_id:
        abort(404, f"Jobs {job_id} and {other_id} were not submitted together under two models.")
    return job, other


def _sort() -> str:
    value = request.args.get("sort", mc.SORTS[0])
    if value not in mc.SORTS:
        abort(400, f"sort must be one of {', '.join(mc.SORTS)}, not {value[:40]!r}.")
    return value


def _row(pair: mc.Pair) -> dict[str, Any]:
    """A pair as the page shows it: P only for a done result, the difference view's link
    once both are done."""
    link = None
    if pair.both_done and pair.b_id is not None:
        link = url_for("compare_pages.compare", a=pair.a_id, b=pair.b_id, view="difference")
    return {"pair": pair, "difference_url": link}


@model_compare_pages.get("/jobs/<id:job_id>/compare/<id:other_id>")
@login_required
def compare(job_id: int, other_id: int) -> str:
    a, b = group_pair(job_id, other_id)
    sort, total = _sort(), mc.count_pairs(db.session, a.id, b.id)
    n_pages = pages(total, ITEMS_PER_PAGE)
    page = min(page_arg(), n_pages)
    rows = mc.pairs(db.session, a.id, b.id, sort, page, ITEMS_PER_PAGE)
    return render_template(
        "jobs/compare.html",
        a=a,
        b=b,
        summary=mc.summary(db.session, a.id, b.id),
        rows=[_row(p) for p in rows],
        sort=sort,
        sorts=SORT_NAMES,
        page=page,
        pages=n_pages,
        classes=CLASS_NAMES,
    )


@model_compare_pages.get("/jobs/<id:job_id>/compare/<id:other_id>.csv")
@login_required
def compare_csv(job_id: int, other_id: int) -> Response:
    """Every pair in submission order: each model's result, status, P and decision."""
    a, b = group_pair(job_id, other_id)
    name = f"job-{a.id}-vs-{b.id}.csv"
    body = stream_with_context(mc.pairs_csv(db.session, a.id, b.id))
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, mimetype="text/csv", headers=headers)
