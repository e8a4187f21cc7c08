"""A job's time left on synthetic finish times: chunks of 16 papers every few seconds (one
worker, two, a GPU's 256), steady and noisy. It counts down between steps, never up, and
stays near the truth; then the per-paper counts and finish times from SQL."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shared.db import utcnow
from shared.jobs.progress import finish_times, live_counts, rate, steps, time_left
from shared.models import Result
from tests.fixtures.factories import Factory, Member, job, model

START = datetime(2026, 1, 1, 12)


def chunks(n_papers: int, size: int, seconds: list[float]) -> list[datetime]:
    """Finish times: ``size`` papers a chunk, each chunk ``seconds[k]`` after the last, the
    papers of a chunk stored 20 ms apart (one transaction each)."""
    times, t = [], START
    for k in range(-(-n_papers // size)):
        t += timedelta(seconds=seconds[k])
        times += [t + timedelta(milliseconds=20 * p) for p in range(min(size, n_papers - k * size))]
    return times


Found = list[tuple[datetime, float, float, int]]


def estimates(times: list[datetime], poll_s: float = 0.5, old: bool = False) -> Found:
    """(now, time left estimated, time left in truth, papers in ended steps) at each poll the
    job runs; ``old``: the estimate this replaced, papers done over time elapsed."""
    out, now = [], START + timedelta(seconds=poll_s)
    while now < times[-1]:
        seen = [t for t in times if t <= now]
        left = len(times) - len(seen)
        r = rate(START, seen, now)
        if old and seen:
            eta: float | None = left * (now - START).total_seconds() / len(seen)
        else:
            eta = None if r is None else time_left(r, left, now)
        if eta is not None:
            ended = len(seen) - (r.since_last if r else len(seen))  # the papers of ended steps
            out.append((now, eta, (times[-1] - now).total_seconds(), ended))
        now += timedelta(seconds=poll_s)
    return out


def rises(found: Found) -> list[tuple[float, float, bool]]:
    """(estimate before, rise, whether a step ended in between) wherever it went up."""
    pairs = itertools.pairwise(found)
    return [(a[1], b[1] - a[1], b[3] > a[3]) for a, b in pairs if b[1] > a[1] + 1e-9]


def test_steady_chunks_count_down_and_never_up() -> None:
    times = chunks(320, 16, [8.0] * 20)
    assert [up for up in rises(estimates(times, old=True)) if not up[2]]  # it counted up
    found = estimates(times)
    assert not rises(found)
    for now, eta, truth, _ in found:
        if now > START + timedelta(seconds=16.5):  # two steps seen
            assert abs(eta - truth) <= 8.5, (now, eta, truth)  # within one chunk's time


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_noisy_chunks_move_only_at_steps_and_little(seed: int) -> None:
    rng = random.Random(seed)
    times = chunks(480, 16, [8.0 * rng.uniform(0.75, 1.25) for _ in range(30)])
    found = [f for f in estimates(times) if f[0] > START + timedelta(seconds=24)]
    ups = rises(found)
    assert all(step for _, _, step in ups)  # never between steps
    # At a step, a slow chunk may raise it: by a quarter at most plus a chunk's 8 s, not
    # from 6 minutes to 13.
    assert all(up <= 0.25 * before + 8 for before, up, _ in ups), ups
    assert all(abs(eta - truth) <= 0.5 * truth + 8 for _, eta, truth, _ in found)


def test_two_workers_and_a_gpu() -> None:
    two = chunks(320, 16, [4.0] * 20)  # two workers' 16-paper chunks, interleaved
    assert rate(START, two[:64]).per_s == pytest.approx(4.0, rel=0.05)  # type: ignore[union-attr]
    gpu = chunks(1024, 256, [30.0] * 4)
    r = rate(START, gpu[:256])
    assert (
        r is not None
        and r.step == pytest.approx(256)
        and r.per_s == pytest.approx(256 / 35, rel=0.2)
    )
    assert not rises(estimates(gpu, poll_s=1.5))


def test_steps_and_edges() -> None:
    times = chunks(40, 16, [5.0, 6.0, 7.0])
    assert [k for k, _ in steps(START, times)] == [16, 16, 8]
    assert sum(g for _, g in steps(START, times)) == pytest.approx(
        (times[-1] - START).total_seconds()
    )
    assert rate(START, []) is None and rate(START, [START]) is None  # no time has passed
    r = rate(START, times)
    assert r is not None and time_left(r, 0, times[-1]) == 0.0


def test_per_paper_counts_and_finish_times_come_from_sql(
    sessions: sessionmaker[Session], make: Factory, ada: Member
) -> None:
    with sessions.begin() as session:
        model_id = model(session).id
        earlier = make_results(session, ada.team_id, model_id, 3)
        row = job(session, ada.team_id, model_id, [r.id for r in earlier])
        row.started_at = utcnow() - timedelta(seconds=10)
        job_id, started = row.id, row.started_at
        earlier[0].status, earlier[0].finished_at = "done", started - timedelta(hours=1)  # reused
        earlier[1].status, earlier[1].finished_at = "done", started + timedelta(seconds=4)
        earlier[2].status = "running"
    with sessions() as session:
        # Counted per paper from the results, before any refresh of the job's own counts.
        counts = live_counts(session, job_id)
        assert (counts.done, counts.failed, counts.running) == (2, 0, 1)
        assert finish_times(session, job_id, started) == [started + timedelta(seconds=4)]


def make_results(session: Session, team_id: int, model_id: int, n: int) -> list[Result]:
    from tests.fixtures.factories import result

    return [result(session, team_id, model_id, "pending", f"Paper {k}") for k in range(n)]
