"""The documented "decision flips on the last sentence" query, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.accounts import get_or_create_team
from shared.db import session_factory
from shared.models import GridCell, Paper, RegisteredModel, Result
from shared.results.queries import flips_on_last_sentence
from tests.service_fixtures import *  # noqa: F403


def _result(
    session: Session, team_id: int, model_id: int, title: str, grid: list[list[float]]
) -> int:
    paper = Paper(team_id=team_id, title=title, abstract="a", content_hash=title)
    session.add(paper)
    session.flush()
    result = Result(
        team_id=team_id,
        paper_id=paper.id,
        model_id=model_id,
        title_unit="word",
        abstract_unit="sentence",
        status="done",
    )
    session.add(result)
    session.flush()
    session.add_all(
        GridCell(result_id=result.id, title_len=i + 1, abstract_len=j + 1, probability=p)
        for i, row in enumerate(grid)
        for j, p in enumerate(row)
    )
    return result.id


def test_flips_on_last_sentence(database_url: str) -> None:
    with session_factory(database_url).begin() as session:
        team, _ = get_or_create_team(session, "T")
        other, _ = get_or_create_team(session, "Other")
        model = RegisteredModel(name="m", version="1", manifest_sha256="x", path="/m", fields=[])
        session.add(model)
        session.flush()
        # Flips up on the full title only (the first row's flip must not count).
        up = _result(session, team.id, model.id, "up", [[0.9, 0.2], [0.4, 0.7]])
        down = _result(session, team.id, model.id, "down", [[0.1, 0.1, 0.6], [0.2, 0.8, 0.3]])
        _result(session, team.id, model.id, "steady", [[0.1, 0.9], [0.6, 0.7]])
        _result(session, team.id, model.id, "one sentence", [[0.2], [0.9]])
        _result(session, other.id, model.id, "other team", [[0.1, 0.1], [0.2, 0.9]])
        session.flush()
        rows = flips_on_last_sentence(session, team.id)
    assert [(r.result_id, r.title) for r in rows] == [(up, "up"), (down, "down")]
    assert [(r.before, r.after) for r in rows] == [(0.4, 0.7), (0.8, 0.3)]
