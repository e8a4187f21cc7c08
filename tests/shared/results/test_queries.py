"""The documented "decision flips on the last sentence" query, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.accounts import get_or_create_team
from shared.db import session_factory
from shared.results.queries import flips_on_last_sentence
from tests.fixtures import factories


def _result(
    session: Session, team_id: int, model_id: int, title: str, grid: list[list[float]]
) -> int:
    # Only the grid matters to the query: no units or leave-one-out rows.
    done = factories.Explained(grid=grid, units={}, loo={})
    return factories.result(session, team_id, model_id, title=title, explained=done).id


def test_flips_on_last_sentence(database_url: str) -> None:
    with session_factory(database_url).begin() as session:
        team, _ = get_or_create_team(session, "T")
        other, _ = get_or_create_team(session, "Other")
        model = factories.model(session, "m", "1")
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
