"""Ingesting a stored file in batches (``shared.jobs.ingest``), run in-process on both
databases with real labelled papers; the chunks each batch sends are recorded."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs import ingest as ingesting
from shared.jobs.status import cancel_job
from shared.jobs.submit import Submission
from shared.models import Job, JobItem, JobProblem, JobStatus, Paper, Result, StoredFile
from shared.papers.storage import store_bytes
from tests.fixtures.factories import Member


def labelled_csv(data_path: Path, rows: int, bad_every: int = 0) -> tuple[bytes, list[int]]:
    """``rows`` real papers as a CSV (title, abstract, eid); every ``bad_every``-th row has
    an empty abstract. Returns the file and the bad rows' line numbers."""
    with data_path.open(encoding="utf-8") as f:
        papers = [
            (r["title"], r["abstract"], r["eid"])
            for _, r in zip(range(rows), csv.DictReader(f), strict=False)
        ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "abstract", "eid"])
    bad = []
    for n, (title, abstract, eid) in enumerate(papers, 1):
        if bad_every and n % bad_every == 0:
            abstract = " "
            bad.append(n + 1)  # the header is line 1
        writer.writerow([title, abstract, eid])
    return out.getvalue().encode(), bad


def start(
    sessions: sessionmaker[Session], settings: Settings, member: Member, data: bytes, **kw: object
) -> int:
    with sessions.begin() as session:
        stored = store_bytes(session, member.team_id, "papers.csv", data)
        sub = Submission(member.team_id, member.user_id, [], file_id=stored.id, **kw)  # type: ignore[arg-type]
        return ingesting.start_ingest(session, settings, sub).id


class Sent:
    """The ``send`` a worker passes: here it records each batch's result ids."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_at = fail_at

    def __call__(self, job_id: int, ids: object) -> None:
        if self.fail_at is not None and len(self.batches) == self.fail_at:
            self.fail_at = None
            raise ConnectionError("the broker went away")
        self.batches.append(list(ids))  # type: ignore[call-overload]


def count(session: Session, model: type, job_id: int) -> int:
    return int(
        session.scalar(select(func.count()).select_from(model).where(model.job_id == job_id)) or 0
    )


def test_a_file_is_read_in_batches_with_its_bad_rows_as_problems(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingesting, "ROWS_PER_BATCH", 40)
    data, bad = labelled_csv(data_path, 100, bad_every=7)
    job_id = start(sessions, settings, ada, data)
    sent = Sent()
    out = ingesting.ingest(sessions, settings, job_id, sent)
    assert (out.batches, out.papers, out.problems) == (3, 100 - len(bad), len(bad))
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.total, job.rejected, job.ingested_rows) == (
            JobStatus.QUEUED,
            100 - len(bad),
            len(bad),
            100,
        )
        assert (
            job.file_id is None
            and session.scalar(select(func.count()).select_from(StoredFile)) == 0
        )
        lines = session.scalars(
            select(JobProblem.line).where(JobProblem.job_id == job_id).order_by(JobProblem.n)
        )
        assert list(lines) == bad
        positions = session.scalars(
            select(JobItem.position).where(JobItem.job_id == job_id).order_by(JobItem.position)
        )
        assert list(positions) == list(range(100 - len(bad)))
        # Every result sent once, each batch's after its commit, in file order.
        items = session.scalars(
            select(JobItem.result_id).where(JobItem.job_id == job_id).order_by(JobItem.position)
        )
        assert [i for b in sent.batches for i in b] == list(dict.fromkeys(items))
        first = session.scalar(
            select(Paper.external_id)
            .join(Result)
            .join(JobItem, JobItem.result_id == Result.id)
            .where(JobItem.position == 0)
        )
        assert first == next(csv.DictReader(io.StringIO(data.decode())))["eid"]


def test_a_retried_ingest_resumes_after_the_batches_it_committed(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingesting, "ROWS_PER_BATCH", 25)
    data, _ = labelled_csv(data_path, 100)
    job_id = start(sessions, settings, ada, data)
    flaky = Sent(fail_at=2)  # the third batch is committed, then its send fails
    with pytest.raises(ConnectionError):
        ingesting.ingest(sessions, settings, job_id, flaky)
    with sessions() as session:
        assert session.get(Job, job_id).ingested_rows == 75  # type: ignore[union-attr]
    ingesting.ingest(sessions, settings, job_id, flaky)
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.total) == (JobStatus.QUEUED, 100)
        assert count(session, JobItem, job_id) == 100
    # The third batch's chunks were never sent; the reaper's "dropped" rule sends them once
    # the queues are empty (tests/shared/jobs/test_requeue.py). Nothing was sent twice:
    sent = [i for b in flaky.batches for i in b]
    assert len(sent) == len(set(sent)) == 75


def test_on_error_reject_reads_the_whole_file_first_and_adds_nothing(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingesting, "ROWS_PER_BATCH", 30)
    data, bad = labelled_csv(data_path, 90, bad_every=80)
    job_id = start(sessions, settings, ada, data, on_error="reject")
    sent = Sent()
    ingesting.ingest(sessions, settings, job_id, sent)
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.total, job.rejected) == (JobStatus.FAILED, 0, 1)
        assert "on_error=reject" in (job.error or "")
        assert count(session, JobItem, job_id) == 0 and sent.batches == []
        assert (
            list(session.scalars(select(JobProblem.line).where(JobProblem.job_id == job_id))) == bad
        )


def test_a_cancelled_job_stops_reading_and_forgets_its_file(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingesting, "ROWS_PER_BATCH", 20)
    data, _ = labelled_csv(data_path, 100)
    job_id = start(sessions, settings, ada, data)

    class CancelAfterFirst(Sent):
        def __call__(self, job: int, ids: object) -> None:
            super().__call__(job, ids)
            with sessions.begin() as session:
                cancel_job(session, session.get(Job, job))  # type: ignore[arg-type]

    ingesting.ingest(sessions, settings, job_id, CancelAfterFirst())
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.total) == (JobStatus.CANCELLED, 20)
        assert (
            job.file_id is None
            and session.scalar(select(func.count()).select_from(StoredFile)) == 0
        )
        statuses = set(
            session.scalars(
                select(Result.status)
                .join(JobItem, JobItem.result_id == Result.id)
                .where(JobItem.job_id == job_id)
            )
        )
        assert statuses == {"cancelled"}


def test_reading_stops_at_the_job_limit_and_says_where(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingesting, "ROWS_PER_BATCH", 20)
    data, _ = labelled_csv(data_path, 60)
    limited = settings.with_overrides(max_papers_per_job=30)
    job_id = start(sessions, limited, ada, data)
    ingesting.ingest(sessions, limited, job_id, Sent())
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.total) == (JobStatus.QUEUED, 30)
        problem = session.scalars(select(JobProblem).where(JobProblem.job_id == job_id)).one()
        assert problem.line == 32 and "limit of 30 papers" in problem.message


def test_a_file_that_cannot_be_read_fails_the_job_with_what_to_fix(
    sessions: sessionmaker[Session], settings: Settings, ada: Member
) -> None:
    job_id = start(sessions, settings, ada, b"name,text\nA paper,Its text.\n")
    ingesting.ingest(sessions, settings, job_id, Sent())
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == JobStatus.FAILED
        assert "no 'abstract' column (found: name, text)" in (job.error or "")
        assert job.file_id is None
