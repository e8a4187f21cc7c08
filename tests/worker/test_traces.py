"""The bulk profile a worker stores by default, ``detail: full`` jobs, and the per-token traces
computed later (``worker.traces.compute_traces``, directly and in a real worker process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from shared.config import Settings, load_settings
from shared.db import session_factory, session_scope
from shared.engine import Model, explain
from shared.engine.export import activations_json
from shared.jobs.dispatch import COMPUTE_TRACES, make_celery
from shared.models import LooUnit, Result
from shared.results.cache import ViewCache
from tests.worker.support import (
    PAPERS,
    make_team,
    run,
    start_worker,
    stop_worker,
    store_job,
    stored_results,
    wait_for,
    worker_env,
)
from worker.traces import TracesOutcome, compute_traces

UNITS = {"title": "word", "abstract": "sentence"}


def activations_of(settings: Settings, result_id: int) -> tuple[Any, str | None]:
    with session_scope(settings.database_url) as session:
        result = session.get_one(Result, result_id)
        return result.activations, result.traces_status


def contributions(data: dict[str, Any]) -> dict[str, Any]:
    """The activations without their traces: the bar chart's data."""
    top = [{k: v for k, v in f.items() if k != "trace"} for f in data["top_features"]]
    return {"bias": data["bias"], "top_features": top}


def test_the_bulk_profile_stores_explains_cells_loo_and_contributions(
    settings: Settings, engine_model: Model
):
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS)
    assert run(settings, todo, lambda _: engine_model).done == todo
    expected = explain(engine_model, PAPERS, units=UNITS)  # the full profile, same batch
    for stored, e in zip(stored_results(settings.database_url, job_id), expected, strict=True):
        t, s = e.grid.probabilities.shape
        assert stored["cells"] == {
            (i + 1, j + 1): float(e.grid.probabilities[i, j]) for i in range(t) for j in range(s)
        }
        assert stored["loo"] == t + s
        acts, status = activations_of(settings, stored["id"])
        assert status == "pending"
        assert e.activations is not None
        assert contributions(acts) == contributions(activations_json(e.activations, False))
        assert {f["trace"] for f in acts["top_features"]} == {None}
        assert all(
            v == {"tokens": None, "running_probability": None} for v in acts["fields"].values()
        )


def test_loo_rows_of_the_bulk_profile_equal_explains(settings: Settings, engine_model: Model):
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS[:2])
    run(settings, todo, lambda _: engine_model)
    expected = explain(engine_model, PAPERS[:2], units=UNITS)
    with session_scope(settings.database_url) as session:
        for result_id, e in zip(todo, expected, strict=True):
            rows = session.execute(
                select(LooUnit.field, LooUnit.unit_index, LooUnit.delta).where(
                    LooUnit.result_id == result_id
                )
            ).all()
            want = {(f, u): float(d) for f, ds in e.leave_one_out.items() for u, d in enumerate(ds)}
            assert {(f, u): d for f, u, d in rows} == want


def test_a_full_job_stores_the_traces_up_front(settings: Settings, engine_model: Model):
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS, detail="full")
    run(settings, todo, lambda _: engine_model)
    for result_id, e in zip(todo, explain(engine_model, PAPERS, units=UNITS), strict=True):
        assert e.activations is not None
        acts, status = activations_of(settings, result_id)
        assert status == "done"
        assert acts == activations_json(e.activations, full=False)


def test_traces_computed_later_equal_explains(
    settings: Settings, engine_model: Model, redis_client: redis.Redis
):
    _, todo = store_job(settings, make_team(settings.database_url), PAPERS)
    run(settings, todo, lambda _: engine_model)
    views = ViewCache(redis_client, 60, f"test-traces-{todo[0]}")
    sessions = session_factory(settings.database_url)
    for result_id, paper in zip(todo, PAPERS, strict=True):
        before, _ = activations_of(settings, result_id)
        views.set(result_id, "json-pending", b"{}")  # what the API cached meanwhile
        assert compute_traces(sessions, result_id, lambda _: engine_model, views) == "stored"
        assert views.get(result_id, "json-pending") is None
        after, status = activations_of(settings, result_id)
        (e,) = explain(engine_model, [paper], units=UNITS)  # the paper alone, as the task reads it
        assert e.activations is not None
        full = activations_json(e.activations, full=False)
        assert status == "done"
        assert after["fields"] == full["fields"]
        traces = {f["feature"]: f["trace"] for f in full["top_features"]}
        assert [f["trace"] for f in after["top_features"]] == [
            traces[f["feature"]] for f in before["top_features"]
        ]
        assert contributions(after) == contributions(before)  # the contributions stay
    again = compute_traces(sessions, todo[0], lambda _: engine_model, views)
    assert again == TracesOutcome.SKIPPED


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_process_computes_traces_asked_for(
    database_url: str, service_env: dict[str, str], tmp_path: Path, engine_model: Model
):
    settings = load_settings(service_env)
    _, todo = store_job(settings, make_team(database_url), PAPERS[:1])
    run(settings, todo, lambda _: engine_model)
    assert activations_of(settings, todo[0])[1] == "pending"
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(service_env), log, cli=True)  # `occlab worker`'s queues
    app = make_celery(settings)
    try:
        app.send_task(COMPUTE_TRACES, args=[todo[0]], queue=settings.detail_queue)
        wait_for(lambda: activations_of(settings, todo[0])[1] == "done", 120, "traces", log)
    finally:
        app.close()
        stop_worker(worker)
    (e,) = explain(engine_model, PAPERS[:1], units=UNITS)
    assert e.activations is not None
    stored, _ = activations_of(settings, todo[0])
    # One paper: its own batch. The worker's process runs its own torch threads, so a value
    # may round to the other side of its sixth digit: equal within 2e-6, names exactly.
    assert_same(stored, activations_json(e.activations, full=False))


def assert_same(got: Any, expected: Any, where: str = "activations") -> None:
    """Equal JSON, numbers within 2e-6 (two roundings to 6 digits apart), all else exactly."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for key in expected:
            assert_same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for k, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_same(a, b, f"{where}[{k}]")
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert got == pytest.approx(expected, abs=2e-6, rel=0), where
    else:
        assert got == expected, where
