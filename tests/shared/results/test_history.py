"""shared.results.history: search, every filter and keyset pages, on SQLite and PostgreSQL,
over the twelve results of the ``many`` fixture."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import RegisteredModel, User
from shared.results.history import Cursor, HistoryFilter, history_page


def test_newest_first_and_every_filter(
    sessions: sessionmaker[Session], team_id: int, many: list[int]
) -> None:
    def ids(**kw: object) -> list[int]:
        with sessions() as s:
            return [r.id for r in history_page(s, team_id, HistoryFilter(**kw)).results]  # type: ignore[arg-type]

    newest = list(reversed(many))
    assert ids() == newest
    assert ids(q="GRAPHS") == [many[k] for k in (9, 6, 3, 0)]
    assert ids(q="100%") == newest  # a LIKE wildcard is matched literally
    assert ids(q="sure_1") == [many[11], many[10], many[1]]  # "_" too
    assert ids(q="DOI:10/7") == [many[7]]  # the external id, too
    with sessions() as s:
        other = s.scalar(select(RegisteredModel.id).where(RegisteredModel.name == "other"))
    assert ids(model_id=other) == [many[k] for k in (11, 9, 7, 5, 3, 1)]
    assert ids(p_min=0.5, p_max=0.75) == [many[k] for k in (9, 8, 7, 6)]
    assert ids(since=date(2026, 1, 3), until=date(2026, 1, 4)) == [many[3], many[2]]
    with sessions() as s:
        ada = s.scalar(select(User.id).where(User.email == "ada@example.org"))
        cy = s.scalar(select(User.id).where(User.email == "cy@example.org"))
    assert ids(submitter_id=ada) == [many[k] for k in (5, 4, 3, 2, 1, 0)]
    assert ids(submitter_id=cy) == [many[k] for k in range(11, 3, -1)]


def test_keyset_pages_cover_everything_once(
    sessions: sessionmaker[Session], team_id: int, many: list[int]
) -> None:
    seen: list[int] = []
    cursor: Cursor | None = None
    with sessions() as s:
        while True:
            page = history_page(s, team_id, HistoryFilter(), cursor, limit=5)
            assert page.total == 12 and not page.capped
            seen += [r.id for r in page.results]
            cursor = page.next_cursor
            if cursor is None:
                break
            cursor = Cursor.parse(cursor.token())
    assert seen == list(reversed(many))
