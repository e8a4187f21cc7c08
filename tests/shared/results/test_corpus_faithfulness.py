"""The corpus view's faithfulness section equals the same figures computed in Python from the
stored results, and a job's view carries its random baseline once a worker has stored it."""

from __future__ import annotations

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Job, Result
from shared.results.corpus import corpus_view, job_scope
from shared.results.corpus_faithfulness import EDGES
from tests.fixtures.factories import Factory, Member

COMP = [0.31, 0.05, -0.2, 0.62, 0.05, 1.0]
SUFF = [0.02, 0.11, 0.4, -0.6, 0.0, 0.25]
FLIPS = [2, None, None, 5, 1, None]


def stored(comp: float, suff: float, k: int | None) -> dict[str, object]:
    flip = None if k is None else {"k": k, "units": [], "probability": 0.4}
    return {"faithfulness": {"aopc_comprehensiveness": comp, "aopc_sufficiency": suff},
            "minimal_flip": flip}  # fmt: skip


def faithful_job(make: Factory, team_id: int, sessions: sessionmaker[Session]) -> int:
    ids = [make.result(team_id, title=f"P{n}") for n in range(len(COMP) + 1)]
    with sessions.begin() as session:
        for rid, c, s, k in zip(ids, COMP, SUFF, FLIPS, strict=False):
            values = {"faithfulness": stored(c, s, k)}
            session.execute(update(Result).where(Result.id == rid).values(**values))
    return make.job(team_id, ids, status="done")  # the last result: stored before faithfulness


def expected_counts(values: list[float]) -> list[int]:
    return np.histogram(np.clip(values, EDGES[0], EDGES[-1]), bins=EDGES)[0].tolist()


def test_the_section_equals_the_stored_values_taken_together(
    make: Factory, ada: Member, sessions: sessionmaker[Session]
) -> None:
    job_id = faithful_job(make, ada.team_id, sessions)
    with sessions() as session:
        view = corpus_view(session, job_scope(job_id))["faithfulness"]
    assert view["n"] == len(COMP)  # the old result has none and is not counted
    for key, values in (("aopc_comprehensiveness", COMP), ("aopc_sufficiency", SUFF)):
        assert abs(view[key]["mean"] - float(np.mean(values))) < 1e-6
        assert view[key]["counts"] == expected_counts(values)
    flipped = [k for k in FLIPS if k is not None]
    assert view["minimal_flip"] == {
        "papers": len(flipped),
        "mean_k": round(float(np.mean(flipped)), 6),
    }
    assert view["random_baseline"] is None
    baseline = {"papers": 7, "seeds": 10, "aopc_comprehensiveness": 0.04, "aopc_sufficiency": 0.3}
    with sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(baseline=baseline))
    with sessions() as session:
        assert (
            corpus_view(session, job_scope(job_id))["faithfulness"]["random_baseline"] == baseline
        )
