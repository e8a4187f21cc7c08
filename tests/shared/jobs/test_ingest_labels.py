"""Labels through the streamed ingestion of a stored file: the `class` column of the real
labelled papers lands on each job item, a bad value is a problem on its line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs import ingest as ingesting
from shared.models import JobItem, JobProblem
from tests.fixtures.factories import Member
from tests.shared.jobs.test_ingest import Sent, start


def test_labels_are_read_into_the_job_items(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path
) -> None:
    with data_path.open(encoding="utf-8") as f:
        every = list(csv.DictReader(f))
    rows = [r for r in every if r["class"] == "1"][:15] + [r for r in every if r["class"] == "0"][
        :15
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "abstract", "class"])
    for n, r in enumerate(rows):
        writer.writerow([r["title"], r["abstract"], "perhaps" if n == 4 else r["class"]])
    job_id = start(sessions, settings, ada, out.getvalue().encode())
    ingesting.ingest(sessions, settings, job_id, Sent())
    with sessions() as session:
        labels = session.scalars(
            select(JobItem.label).where(JobItem.job_id == job_id).order_by(JobItem.position)
        ).all()
        problems = session.scalars(select(JobProblem).where(JobProblem.job_id == job_id)).all()
    expected = [int(r["class"]) for n, r in enumerate(rows) if n != 4]
    assert labels == expected and set(expected) == {0, 1}
    assert [(p.line, "'perhaps' is not read" in p.message) for p in problems] == [(6, True)]
