"""Web tests: the apps, clients, people and rows come from tests/fixtures (plugins); here,
only what a submission test counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Job, JobItem, Paper, Result

COUNTED = (Paper, Job, JobItem, Result)


@pytest.fixture
def counts(sessions: sessionmaker[Session]) -> Callable[[], dict[str, int]]:
    """Rows in each table a submission writes, to show a rejected one stored nothing."""

    def count() -> dict[str, int]:
        with sessions() as session:
            return {
                m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
                for m in COUNTED
            }

    return count
