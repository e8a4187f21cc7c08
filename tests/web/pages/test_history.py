"""/history: search, filters, keyset pages and counts, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import create_user
from shared.config import Settings
from shared.jobs.registry import register_model
from shared.models import Job, JobItem, Paper, RegisteredModel, Result, User
from shared.results.history import Cursor, HistoryFilter, history_page
from tests.web.pages.test_results_pages import log_in

START = datetime(2026, 1, 1, 12)


@pytest.fixture
def member(client: FlaskClient, token: str) -> FlaskClient:
    log_in(client)
    return client


@pytest.fixture
def many(
    sessions: sessionmaker[Session], settings: Settings, team_id: int, token: str
) -> list[int]:
    """12 results a day apart (result k: P = k/12, 'Paper k', model 'other' when k is odd);
    jobs by ada (k < 6) and by cy (k >= 4): results 4 and 5 belong to both."""
    with sessions.begin() as s:
        default = register_model(s, settings.model_dir or Path())
        other = RegisteredModel(
            name="other",
            version="2.0",
            manifest_sha256="0" * 64,
            path="/",
            fields=["title", "abstract"],
        )
        cy = create_user(s, "cy@example.org", "correct horse battery", "Gamma")
        ada = s.scalar(select(User).where(User.email == "ada@example.org"))
        s.add(other)
        s.flush()
        ids = []
        for k in range(12):
            paper = Paper(
                team_id=team_id,
                title=f"Paper {k} on {'graphs' if k % 3 == 0 else 'trees'}",
                abstract=f"Abstract {k}. 100% sure_{k}.",
                content_hash=str(k),
            )
            s.add(paper)
            s.flush()
            r = Result(
                team_id=team_id,
                paper_id=paper.id,
                model_id=(other if k % 2 else default).id,
                title_unit="word",
                abstract_unit="sentence",
                status="done",
                probability=k / 12,
                created_at=START + timedelta(days=k),
            )
            s.add(r)
            s.flush()
            ids.append(r.id)
        for who, ks in ((ada, range(0, 6)), (cy, range(4, 12))):
            job = Job(team_id=team_id, submitter_id=who.id, model_id=default.id, source="api")
            s.add(job)
            s.flush()
            s.add_all(
                JobItem(job_id=job.id, position=n, result_id=ids[k]) for n, k in enumerate(ks)
            )
        return ids


def listed(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="r" value="(\d+)"', html)]


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


def test_history_page_filters_pages_and_shows_submitter(
    member: FlaskClient, many: list[int]
) -> None:
    html = member.get("/history?q=graphs&p_min=0.2").get_data(as_text=True)
    assert listed(html) == [many[9], many[6], many[3]]
    assert "3 results match the filters" in html
    assert "ada@example.org" in html  # result 3's first job
    first = member.get("/history").get_data(as_text=True)
    assert "12 results" in first and len(listed(first)) == 12


def test_history_bad_values_are_reported_not_fatal(member: FlaskClient, many: list[int]) -> None:
    html = member.get("/history?p_min=2&since=yesterday&after=junk").get_data(as_text=True)
    assert "p min must be a number from 0 to 1" in html
    assert "since must be a date" in html
    assert len(listed(html)) == 12


def test_history_shows_only_the_team_and_escapes(
    member: FlaskClient,
    seed_result: Callable[..., int],
    team_id: int,
    other_token: str,
    sessions: sessionmaker[Session],
) -> None:
    from shared.accounts import authenticate_token

    mine = seed_result(team_id, title='<script>alert(1)</script> & "quotes"')
    with sessions() as s:
        row = authenticate_token(s, other_token)
        assert row is not None
        theirs = seed_result(row.team_id, title="Theirs")
    html = member.get("/history").get_data(as_text=True)
    assert listed(html) == [mine] and theirs not in listed(html)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
