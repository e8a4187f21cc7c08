"""A job's progress as the job pages show it: counts, rate, time left and the words for
them, plus its papers in submission order. Used by the first render and by every poll of
``/jobs/<id>/progress.json``, so both always agree.

A live job's counts are its results counted now, paper by paper (the job row's move a chunk
at a time); its rate and time left are smoothed over when its papers finished
(shared.jobs.progress), so the time left counts down between chunks instead of up."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select

from shared.db import utcnow
from shared.jobs.progress import Counts, finish_times, live_counts, rate, time_left
from shared.models import FINISHED, Job, JobItem, JobStatus, Paper, Result, ResultStatus
from web.extensions import db
from web.params import ceil_div

ITEMS_PER_PAGE = 100
MAX_FAILURES = 50
JOB_LABELS = {
    JobStatus.INGESTING: "Reading the file",
    JobStatus.QUEUED: "Queued",
    JobStatus.RUNNING: "Running",
    JobStatus.DONE: "Done",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}
RESULT_LABELS = {
    ResultStatus.PENDING: "Waiting",
    ResultStatus.RUNNING: "Running",
    ResultStatus.DONE: "Done",
    ResultStatus.FAILED: "Failed",
    ResultStatus.CANCELLED: "Cancelled",
}
# A result's status shares the job badges' colours: each badge is named by a job status.
RESULT_BADGES = {
    ResultStatus.PENDING: JobStatus.QUEUED,
    ResultStatus.RUNNING: JobStatus.RUNNING,
    ResultStatus.DONE: JobStatus.DONE,
    ResultStatus.FAILED: JobStatus.FAILED,
    ResultStatus.CANCELLED: JobStatus.CANCELLED,
}


def pages(total: int, per_page: int) -> int:
    return max(1, ceil_div(total, per_page))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``: short and exact enough for time left."""
    s = max(0, round(seconds))
    if s < 1:
        return "under a second"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s < 600 else f"{round(s / 60)} min"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def progress(job: Job) -> dict[str, Any]:
    finished = job.status in FINISHED
    counts = Counts(job.done, job.failed, 0) if finished else live_counts(db.session, job.id)
    processed = counts.done + counts.failed
    per_s, eta = _rate_and_eta(job, job.total - processed) if not finished else (None, None)
    return {
        "id": job.id,
        "status": job.status,
        "status_label": JOB_LABELS[JobStatus(job.status)],
        "finished": finished,
        "cancellable": not finished,
        "total": job.total,
        "done": counts.done,
        "failed": counts.failed,
        "running": counts.running,
        "processed": processed,
        "percent": round(100 * processed / job.total) if job.total else 100,
        "rate": per_s,
        "eta_s": eta,
        "summary": _summary(job, counts),
        "rate_text": _rate_text(per_s),
        "eta_text": _eta_text(job, eta),
        "error": job.error,
    }


def _rate_and_eta(job: Job, left: int) -> tuple[float | None, float | None]:
    if job.started_at is None:
        return None, None
    now = utcnow()
    r = rate(job.started_at, finish_times(db.session, job.id, job.started_at), now)
    if r is None:
        return None, None
    return r.per_s, (time_left(r, left, now) if left > 0 else None)


def _rate_text(rate: float | None) -> str:
    if rate is None:
        return ""
    if rate < 1:
        return f"{1 / rate:.1f} s a paper"
    return f"{rate:.1f} papers/s"


def _elapsed(job: Job) -> float | None:
    if job.started_at is None:
        return None
    end = job.finished_at or utcnow()
    return (end - job.started_at).total_seconds()


def _summary(job: Job, counts: Counts) -> str:
    text = f"{counts.done:,} of {plural(job.total, 'paper')} explained"
    if job.status == JobStatus.INGESTING:
        text = f"{plural(job.total, 'paper')} read so far, {counts.done:,} explained"
    if counts.failed:
        text += f", {counts.failed:,} failed"
    if counts.running:
        text += f", {counts.running:,} being explained now"
    return text


def _eta_text(job: Job, eta: float | None) -> str:
    if job.status == JobStatus.QUEUED:
        return "Waiting for a worker…"
    if job.status == JobStatus.INGESTING:
        return "A worker is reading the file; its papers start computing as they are read."
    if job.status == JobStatus.CANCELLED:
        return "Cancelled: papers not yet started were dropped."
    if job.status in FINISHED:
        return f"Finished in {duration(_elapsed(job) or 0)}."
    return f"About {duration(eta)} left" if eta is not None else "Estimating time left…"


def _probability(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


# How the papers table may be ordered (``?sort=``): submission order, or by P either way
# (papers without a P yet last), ties in submission order.
SORTS: dict[str, tuple[Any, ...]] = {
    "position": (JobItem.position,),
    "p": (Result.probability.asc().nulls_last(), JobItem.position),
    "-p": (Result.probability.desc().nulls_last(), JobItem.position),
}


def items(job: Job, page: int, sort: str = "position") -> list[dict[str, Any]]:
    """The job's papers on ``page`` in ``sort`` order, with their results' status."""
    rows = _rows(job).order_by(None).order_by(*SORTS[sort])
    rows = rows.offset((page - 1) * ITEMS_PER_PAGE).limit(ITEMS_PER_PAGE)
    return [_item(*row) for row in db.session.execute(rows)]


def failures(job: Job) -> list[dict[str, Any]]:
    """The first failed papers (``MAX_FAILURES``), each with its error."""
    rows = _rows(job).where(Result.status == ResultStatus.FAILED).limit(MAX_FAILURES)
    return [_item(*row) for row in db.session.execute(rows)]


def _rows(job: Job) -> Any:
    return (
        select(
            JobItem.position,
            Result.id,
            Result.status,
            Result.probability,
            Result.error,
            Paper.title,
            Paper.external_id,
        )
        .join(Result, Result.id == JobItem.result_id)
        .join(Paper, Paper.id == Result.paper_id)
        .where(JobItem.job_id == job.id)
        .order_by(JobItem.position)
    )


def _item(position: int, result_id: int, status: str, probability: float | None,
          error: str | None, title: str, external_id: str | None) -> dict[str, Any]:  # fmt: skip
    return {
        "position": position + 1,
        "result_id": result_id,
        "url": url_for("result_pages.result_page", result_id=result_id),
        "title": title,
        "external_id": external_id,
        "status": status,
        "status_label": RESULT_LABELS[ResultStatus(status)],
        "badge": RESULT_BADGES[ResultStatus(status)],
        "probability": probability,
        "probability_text": _probability(probability),
        "error": error,
    }
