"""``/api/v1/jobs``: submit papers, follow a job, cancel it. Every query is scoped to the
token's team, so another team's job answers 404 exactly like one that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response as BaseResponse

from shared.jobs.status import cancel_job, group_of, team_job
from shared.jobs.submit import JobRejected
from shared.models import Job, JobItem, Result
from shared.units import InputError
from web.api.tokens import current_token, require_token, team_id
from web.downloads import bytes_view, corpus_json, job_export, job_problems
from web.errors import RETRY_AFTER_S, ApiError
from web.extensions import db
from web.params import MAX_ID, ceil_div, positive_int
from web.submissions import QueueUnavailable, read_submission, rejection, start_job

blueprint = Blueprint("jobs", __name__)
MAX_PER_PAGE = 100
MAX_PAGE = 10**9  # keeps the OFFSET within a BIGINT


def iso(moment: datetime | None) -> str | None:
    # Stored naive in UTC (shared.db.utcnow); the Z says so to clients.
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def job_summary(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "url": url_for("api.jobs.get_job", job_id=job.id),
        "html_url": url_for("job_pages.job_page", job_id=job.id),
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "model": {"name": job.model.name, "version": job.model.version},
        "title_unit": job.title_unit,
        "abstract_unit": job.abstract_unit,
        "detail": job.detail,
        "keep_boilerplate": job.keep_boilerplate,
        "source": job.source,
        "source_name": job.source_name,
        "error": job.error,
        "ingested": job.total,
        "rejected": job.rejected,
        "problems_url": url_for("api.jobs.problems", job_id=job.id),
        "corpus_url": url_for("api.jobs.corpus", job_id=job.id),
        "exports": {
            fmt: url_for("api.jobs.export", job_id=job.id, fmt=fmt) for fmt in ("csv", "jsonl")
        },
    }


def job_json(job: Job) -> dict[str, Any]:
    """The summary plus each paper's result, in submission order."""
    rows = db.session.execute(
        select(
            JobItem.position,
            Result.id,
            Result.status,
            Result.probability,
            Result.error,
            JobItem.label,
        )
        .join(Result, Result.id == JobItem.result_id)
        .where(JobItem.job_id == job.id)
        .order_by(JobItem.position)
    )
    results = [
        {
            "position": position,
            "id": result_id,
            "url": url_for("api.results.get_result", result_id=result_id),
            "status": status,
            "probability": probability,
            "error": error,
            "label": label,
        }
        for position, result_id, status, probability, error, label in rows
    ]
    return {**job_summary(job), **group_json(job), "results": results}


def group_json(job: Job) -> dict[str, Any]:
    """``group``: the jobs of the same submission under each model (this one included), or
    nothing for a job of one model."""
    group = group_of(db.session, job)
    if not group:
        return {}
    entries = [
        {
            "id": other.id,
            "model": {"name": other.model.name, "version": other.model.version},
            "url": url_for("api.jobs.get_job", job_id=other.id),
            "html_url": url_for("job_pages.job_page", job_id=other.id),
        }
        for other in group
    ]
    return {"group": entries}


def job_or_404(job_id: int) -> Job:
    job = team_job(db.session, team_id(), job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id} in your team")
    return job


@blueprint.post("/jobs")
@require_token
def create() -> tuple[Response, int, dict[str, str]]:
    token = current_token()
    sub = read_submission(token.team_id, token.user_id)
    try:
        job = start_job(sub)
    except JobRejected as exc:
        raise rejection(exc, sub) from exc
    except InputError as exc:  # the model named does not exist
        raise ApiError(400, str(exc), [{"field": exc.field, "error": str(exc)}]) from exc
    except QueueUnavailable as exc:
        return _saved_not_sent(exc)
    url = url_for("api.jobs.get_job", job_id=job.id)
    problems = url_for("api.jobs.problems", job_id=job.id)
    page = url_for("job_pages.job_page", job_id=job.id)
    body = {"id": job.id, "url": url, "html_url": page, "status": job.status,
            "total": job.total, "rejected": job.rejected, "problems_url": problems,
            **group_json(job)}  # fmt: skip
    return jsonify(body), 202, {"Location": url}


def _saved_not_sent(exc: QueueUnavailable) -> tuple[Response, int, dict[str, str]]:
    """503, but the job exists: the client keeps its id and follows it rather than
    submitting again (which would be harmless, but is not needed)."""
    job = job_summary(exc.job)
    headers = {"Retry-After": str(RETRY_AFTER_S), "Location": job["url"]}
    return jsonify({"error": str(exc), "job": job}), 503, headers


@blueprint.get("/jobs")
@require_token
def list_jobs() -> Response:
    page = _positive("page", 1, MAX_PAGE)
    per_page = min(_positive("per_page", 20), MAX_PER_PAGE)
    scope = Job.team_id == team_id()
    total = db.session.scalar(select(func.count()).select_from(Job).where(scope)) or 0
    rows = db.session.scalars(
        select(Job)
        .options(joinedload(Job.model))  # one query for the page, not one per job
        .where(scope)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return jsonify(
        {
            "jobs": [job_summary(job) for job in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": ceil_div(total, per_page),
        }
    )


def _positive(name: str, default: int, maximum: int = MAX_ID) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    number = positive_int(raw, None, maximum)
    if number is None:
        upto = f" to {maximum:,}" if maximum < MAX_ID else ""
        raise ApiError(
            400, f"{name} must be a whole number from 1{upto}", [{"field": name, "error": raw}]
        )
    return number


@blueprint.get("/jobs/<id:job_id>")
@require_token
def get_job(job_id: int) -> Response:
    return jsonify(job_json(job_or_404(job_id)))


@blueprint.get("/jobs/<id:job_id>/results.<any(csv, jsonl):fmt>")
@require_token
def export(job_id: int, fmt: str) -> Response:
    """Every paper of the job: a CSV row or a JSON line each, streamed in submission order."""
    return job_export(job_or_404(job_id), fmt)


@blueprint.get("/jobs/<id:job_id>/corpus")
@require_token
def corpus(job_id: int) -> BaseResponse:
    """What the job's papers say together (shared/results/corpus.py): cached, with an ETag,
    once the job is finished; a live job's covers the papers done so far."""
    return bytes_view(corpus_json(job_or_404(job_id)), "json")


@blueprint.get("/jobs/<id:job_id>/problems.csv")
@require_token
def problems(job_id: int) -> Response:
    """The rows the job left out (on_error=skip): line, field, reason."""
    return job_problems(job_or_404(job_id))


@blueprint.post("/jobs/<id:job_id>/cancel")
@require_token
def cancel(job_id: int) -> Response:
    job = job_or_404(job_id)
    if not cancel_job(db.session, job):
        raise ApiError(
            409,
            f"job {job_id} is already {job.status}; only a queued or running job can be cancelled",
        )
    db.session.commit()
    return jsonify(job_json(job))
