"""A running job's progress paper by paper and its time left, from SQL.

The job's own counts (``jobs.done``) move once a chunk is stored, 16 papers at a time on a
CPU; each result is committed on its own, so counting the results gives the progress per
paper. The time left comes from when papers finished (``results.finished_at``), never from
the clock alone: a rate of papers done over time elapsed grows stale between steps, which
made the old estimate count up while a chunk was computed and swing at every step.

Papers of one chunk finish together, so finish times within ``GROUP_S`` of each other are
one step of k papers after a gap; the rate is the steps' papers over their gaps, weighted
towards recent steps (half the weight every ``HALF_LIFE`` steps). Between steps the estimate
counts down from the last step, and stops at what the next step would leave: it never
counts up until a step shows the work is slower than thought.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from shared.models import JobItem, Result, ResultStatus

GROUP_S = 1.0
HALF_LIFE = 6.0
RECENT = 1000  # finish times read: enough steps for the smoothing at any chunk size


@dataclass(frozen=True)
class Counts:
    done: int
    failed: int
    running: int


@dataclass(frozen=True)
class Rate:
    per_s: float  # papers a second, smoothed over recent steps
    step: float  # papers a step, smoothed likewise (16 on a CPU, more on a GPU)
    last: datetime  # when the latest step finished
    since_last: int = 0  # papers finished after it, in a step that may still be growing


def live_counts(session: Session, job_id: int) -> Counts:
    """The job's results done, failed and being computed, counted now."""

    def count(status: ResultStatus) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((Result.status == status, 1), else_=0)), 0)

    row = session.execute(
        select(count(ResultStatus.DONE), count(ResultStatus.FAILED), count(ResultStatus.RUNNING))
        .select_from(JobItem)
        .join(Result, Result.id == JobItem.result_id)
        .where(JobItem.job_id == job_id)
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]))


def finish_times(session: Session, job_id: int, since: datetime) -> list[datetime]:
    """When the job's papers finished after ``since`` (results reused from before do not
    say how fast this job goes), the latest ``RECENT``, oldest first."""
    rows = session.scalars(
        select(Result.finished_at)
        .join(JobItem, JobItem.result_id == Result.id)
        .where(JobItem.job_id == job_id, Result.finished_at >= since)
        .order_by(Result.finished_at.desc())
        .limit(RECENT)
    )
    return sorted(t for t in rows if t is not None)


def steps(started: datetime, times: Sequence[datetime]) -> list[tuple[int, float]]:
    """(papers, seconds since the step before) for each step, oldest first."""
    out: list[tuple[int, float]] = []
    end: datetime | None = None
    for t in times:
        gap = max(0.0, (t - (end or started)).total_seconds())
        if end is not None and gap <= GROUP_S:
            papers, seconds = out[-1]
            out[-1] = (papers + 1, seconds + gap)  # the gaps add up to the time since start
        else:
            out.append((1, gap))
        end = t
    return out


def rate(started: datetime, times: Sequence[datetime], now: datetime | None = None) -> Rate | None:
    """The smoothed rate over the steps finished by ``now`` (one whose last paper is under
    ``GROUP_S`` old may still be growing: a part of a chunk would read as a slow step); None
    before the first step (or if no time has passed)."""
    seen = len(times)
    if now is not None and times and (now - times[-1]).total_seconds() <= GROUP_S:
        times = times[: _last_step_start(times)]
    found = steps(started, times)
    if not found:
        return None
    weights = [0.5 ** ((len(found) - 1 - k) / HALF_LIFE) for k in range(len(found))]
    papers = sum(w * k for w, (k, _) in zip(weights, found, strict=True))
    seconds = sum(w * g for w, (_, g) in zip(weights, found, strict=True))
    if seconds <= 0:
        return None
    return Rate(papers / seconds, papers / sum(weights), times[-1], seen - len(times))


def _last_step_start(times: Sequence[datetime]) -> int:
    """The index of the first paper of the latest step."""
    k = len(times) - 1
    while k > 0 and (times[k] - times[k - 1]).total_seconds() <= GROUP_S:
        k -= 1
    return k


def time_left(r: Rate, remaining: int, now: datetime) -> float:
    """Seconds until the last of ``remaining`` papers: counted down from the latest step,
    never below what is left after the next step. A step still growing counts once it ends,
    so its first papers do not lower the estimate that its end raises again."""
    if remaining <= 0:
        return 0.0
    remaining += r.since_last
    whole = remaining / r.per_s
    since = max(0.0, (now - r.last).total_seconds())
    after_next = max(0.0, (remaining - r.step) / r.per_s)
    return max(after_next, whole - since)
