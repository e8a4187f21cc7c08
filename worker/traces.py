"""Computing a done bulk result's per-token traces later: what the ``compute_traces`` task calls.

The traces come from ``shared.engine.activation_traces``, which takes ``explain``'s own steps,
so they are those a ``detail: full`` job would have stored for the paper. They are merged into
``Result.activations`` (the contributions stay), then the result's cached trace-less JSON is
forgotten so the API serves the new one at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from shared.engine import Model, activation_traces
from shared.engine.export import activations_json
from shared.models import RegisteredModel, Result, TracesStatus
from shared.results.cache import ViewCache
from shared.results.stored import json_views
from shared.results.traces import merge_traces
from worker.processing import model_for

log = logging.getLogger(__name__)

# The cached views that change when the traces arrive (the images do not).
PENDING_VIEWS = json_views("json-pending", "json")


class TracesOutcome(StrEnum):
    STORED = "stored"
    SKIPPED = "skipped"  # not done, gone, or traced already (a second request's task)


def compute_traces(
    sessions: sessionmaker[Session],
    result_id: int,
    loader: Callable[[RegisteredModel], Model] = model_for,
    views: ViewCache | None = None,
) -> TracesOutcome:
    """Compute and store one done result's traces; idempotent (a traced result is skipped)."""
    with sessions() as session:
        result = session.get(Result, result_id)
        if result is None or result.traces_status != TracesStatus.PENDING:
            return TracesOutcome.SKIPPED
        model = loader(result.model)
        paper = {"title": result.paper.title, "abstract": result.paper.abstract}
        units = result.unit_options()
    (computed,) = activation_traces(model, [paper], units=units)
    with sessions.begin() as session:
        result = session.get_one(Result, result_id, with_for_update=True)
        if result.traces_status != TracesStatus.PENDING:
            return TracesOutcome.SKIPPED  # another copy stored them while this one computed
        result.activations = merge_traces(result.activations, activations_json(computed, False))
    if views is not None:
        views.forget(result_id, *PENDING_VIEWS)
    log.info("result %s: per-token traces stored", result_id)
    return TracesOutcome.STORED
