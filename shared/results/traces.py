"""A bulk result's per-token traces: asking for them once, and merging them in when computed.

A worker stores the bulk profile (grid, leave-one-out, the features' contributions) unless
its job asked for ``detail: full``; the traces (each top feature's value token by token, and
P as the model reads) cost most of an explanation and are looked at on one page, so the web
asks for them when a done result without them is first shown (``web/traces.py``) and a
worker computes them (``worker/traces.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.db import stamp_once
from shared.models import Result


def mark_requested(session: Session, result_id: int, stale_before: datetime) -> bool:
    """Mark the traces asked for; True for the one caller that should send the task (a
    request older than ``stale_before`` counts as lost and is made again)."""
    return stamp_once(session, Result.traces_requested_at, result_id, stale_before)


def unmark_requested(session: Session, result_id: int) -> None:
    """The task was not sent (the broker is down): the next view asks again."""
    session.execute(update(Result).where(Result.id == result_id).values(traces_requested_at=None))


def merge_traces(stored: dict[str, Any] | None, computed: dict[str, Any]) -> dict[str, Any]:
    """The stored contributions with ``computed``'s traces filled in: each top feature's
    ``trace`` (by feature name) and each field's tokens and running P.

    ``computed`` is taken whole when the stored result has no activations, or when a stored
    top feature is not among its top ones (float32 rounding in another batch can swap two
    near-equal features at the end of the list): every feature shown then has its trace."""
    traces = {f["feature"]: f["trace"] for f in computed["top_features"]}
    top = (stored or {}).get("top_features") or []
    if not top or any(f["feature"] not in traces for f in top):
        return computed
    merged = [{**f, "trace": traces[f["feature"]]} for f in top]
    return {**(stored or {}), "top_features": merged, "fields": computed["fields"]}
