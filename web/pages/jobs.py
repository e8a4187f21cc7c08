"""The job pages: the team's jobs (``/jobs``), one job with live progress (``/jobs/<id>``),
its progress as JSON for static/js/job.js (``/jobs/<id>/progress.json``) and cancelling.

Every query is scoped to the current team: another team's job answers 404, like one that
does not exist. The figures and texts the page shows come from web/pages/job_progress.py,
so the first render and every poll say the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response as BaseResponse

from shared.jobs.status import cancel_job, group_of, team_job
from shared.models import Job, JobProblem
from web.downloads import job_export, job_problems
from web.extensions import db
from web.pages.job_progress import ITEMS_PER_PAGE, SORTS, failures, items, pages, progress
from web.params import positive_int
from web.session import current_team_id, login_required

job_pages = Blueprint("job_pages", __name__)
JOBS_PER_PAGE = 20


def job_or_404(job_id: int) -> Job:
    job = team_job(db.session, current_team_id(), job_id)
    if job is None:
        abort(404, f"There is no job {job_id} in your team.")
    return job


def page_arg() -> int:
    return positive_int(request.args.get("page"), 1)


def sort_arg() -> str:
    """``?sort=``: position (submission order, the default), p or -p (by P)."""
    value = request.args.get("sort", "position")
    if value not in SORTS:
        abort(400, f"sort must be one of {', '.join(SORTS)}, not {value[:40]!r}.")
    return value


@job_pages.get("/jobs")
@login_required
def job_list() -> str:
    scope = Job.team_id == current_team_id()
    total = db.session.scalar(select(func.count()).select_from(Job).where(scope)) or 0
    n_pages = pages(total, JOBS_PER_PAGE)
    page = min(page_arg(), n_pages)
    rows = db.session.scalars(
        select(Job)
        .options(joinedload(Job.model))
        .where(scope)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(JOBS_PER_PAGE)
        .offset((page - 1) * JOBS_PER_PAGE)
    ).all()
    jobs = [(job, progress(job)) for job in rows]
    return render_template(
        "jobs/list.html", jobs=jobs, page=page, pages=n_pages, total=total,
        partners=group_partners(rows),
    )  # fmt: skip


def group_partners(rows: Sequence[Job]) -> dict[int, int]:
    """Job id -> the first other job of its group (one submission under several models),
    for the list's link to their comparison."""
    groups = {job.group_id for job in rows if job.group_id is not None}
    members: dict[int | None, list[int]] = {}
    query = select(Job.group_id, Job.id).where(Job.group_id.in_(groups)).order_by(Job.id)
    for group_id, job_id in db.session.execute(query) if groups else ():
        members.setdefault(group_id, []).append(job_id)
    partners = {}
    for job in rows:
        others = [o for o in members.get(job.group_id, []) if o != job.id]
        if others:
            partners[job.id] = others[0]
    return partners


@job_pages.get("/jobs/<id:job_id>")
@login_required
def job_page(job_id: int) -> str:
    job = job_or_404(job_id)
    page, sort = min(page_arg(), pages(job.total, ITEMS_PER_PAGE)), sort_arg()
    return render_template(
        "jobs/job.html",
        job=job,
        progress=progress(job),
        items=items(job, page, sort),
        sort=sort,
        failures=failures(job),
        skipped=_skipped(job),
        page=page,
        pages=pages(job.total, ITEMS_PER_PAGE),
        first_position=(page - 1) * ITEMS_PER_PAGE,
        group=compare_links(job),
    )


def compare_links(job: Job) -> list[dict[str, Any]]:
    """For the job and corpus pages: each other job of the group, with its model, its page
    and the comparison with this job."""
    return [
        {
            "job": other,
            "model": f"{other.model.name} {other.model.version}",
            "url": url_for("job_pages.job_page", job_id=other.id),
            "compare_url": url_for("model_compare_pages.compare", job_id=job.id, other_id=other.id),
        }
        for other in group_of(db.session, job)
        if other.id != job.id
    ]


SKIPPED_SHOWN = 20


def _skipped(job: Job) -> list[JobProblem]:
    """The first rows the submission left out; problems.csv has them all."""
    if not job.rejected:
        return []
    query = select(JobProblem).where(JobProblem.job_id == job.id).order_by(JobProblem.n)
    return list(db.session.scalars(query.limit(SKIPPED_SHOWN)))


@job_pages.get("/jobs/<id:job_id>/progress.json")
@login_required
def job_progress(job_id: int) -> Response:
    """The counts, rate and time left, the page's papers' statuses and the failures."""
    job = job_or_404(job_id)
    page = min(page_arg(), pages(job.total, ITEMS_PER_PAGE))
    body: dict[str, Any] = {
        **progress(job),
        "page": page,
        "items": items(job, page, sort_arg()),
        "failures": failures(job),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@job_pages.get("/jobs/<id:job_id>/results.<any(csv, jsonl):fmt>")
@login_required
def export(job_id: int, fmt: str) -> Response:
    return job_export(job_or_404(job_id), fmt)


@job_pages.get("/jobs/<id:job_id>/problems.csv")
@login_required
def problems(job_id: int) -> Response:
    return job_problems(job_or_404(job_id))


@job_pages.post("/jobs/<id:job_id>/cancel")
@login_required
def cancel(job_id: int) -> BaseResponse:
    job = job_or_404(job_id)
    if cancel_job(db.session, job):
        db.session.commit()
        flash(f"Job {job_id} is cancelled: papers not yet started will not be explained.",
              "success")  # fmt: skip
    else:
        flash(f"Job {job_id} is already {job.status}; only a queued or running job can be "
              "cancelled.", "error")  # fmt: skip
    return redirect(url_for(".job_page", job_id=job_id), code=303)
