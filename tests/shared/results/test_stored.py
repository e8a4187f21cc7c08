"""shared.results.stored: what the API serves equals what ``occlab explain --format json`` prints
for the same explanation, once a worker has stored it as rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from shared.manifest import read_vocab
from shared.models import GridCell, Result
from shared.results.stored import IncompleteResult, render_result, result_json
from shared.units import split_units
from tests.fixtures.factories import GRID, LOO, SHIPPED, Factory


def explanation(model_dir: Path):  # type: ignore[no-untyped-def]  # engine types, test only
    # Imported here: the engine (and torch) is for the reference, never for the web.
    from shared.engine.explanations import Explanation, OcclusionGrid

    vocab = read_vocab(model_dir)
    fields = [
        split_units("title", "Social media", "word", vocab),
        split_units("abstract", "We study it. It matters. Trees.", "sentence", vocab),
    ]
    name, version = SHIPPED["name"], SHIPPED["version"]  # the model the API reports
    grid = OcclusionGrid(np.array(GRID), GRID[-1][-1], fields, name, version)
    return Explanation(grid, {f: np.array(d) for f, d in LOO.items()}, None)


def test_api_json_equals_occlab_explain_json(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    team_id: int,
    sessions: sessionmaker[Session],
    default_model_dir: Path,
) -> None:
    from shared.engine.export import to_json
    from worker.processing import store_explanation

    e = explanation(default_model_dir)
    rid = make.result(team_id, status="running")
    with sessions.begin() as session:
        store_explanation(session, session.get_one(Result, rid), e, 1.0)
    body = client.get(f"/api/v1/results/{rid}", headers=auth).json
    expected = to_json(e)
    assert {k: body[k] for k in expected} == expected
    assert body["activations"] is None  # to_json leaves the key out when there are none


def test_incomplete_grid_is_an_error_not_a_wrong_picture(
    make: Factory, team_id: int, sessions: sessionmaker[Session]
) -> None:
    rid = make.result(team_id)
    with sessions.begin() as session:
        session.execute(delete(GridCell).where(GridCell.result_id == rid, GridCell.title_len == 2))
    with sessions() as session:
        result = session.get_one(Result, rid)
        with pytest.raises(IncompleteResult, match="lacks 3 of 6 grid cells"):
            result_json(session, result, html_url=f"/results/{rid}")
        with pytest.raises(IncompleteResult):
            render_result(session, result, "png")
