"""A large submission under two models: both jobs read the one stored file, which is
forgotten only once neither still reads it (a job cancelled before its read lets go)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs import ingest as ingesting
from shared.jobs.status import cancel_job
from shared.jobs.submit import Submission, link_group
from shared.models import Job, JobStatus, StoredFile
from shared.papers.storage import store_bytes
from tests.fixtures.factories import Member
from tests.shared.jobs.test_ingest import Sent, labelled_csv


def start_group(
    sessions: sessionmaker[Session], settings: Settings, member: Member, data: bytes, other: str
) -> list[int]:
    """The two ``ingesting`` jobs a grouped large upload makes, as ``start_job`` adds them."""
    with sessions.begin() as session:
        stored = store_bytes(session, member.team_id, "papers.csv", data)
        sub = Submission(member.team_id, member.user_id, [], file_id=stored.id,
                         other_models=(other,))  # fmt: skip
        jobs = [ingesting.start_ingest(session, settings, each) for each in sub.each_model()]
        link_group(jobs)
        return [job.id for job in jobs]


def files(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(StoredFile)) or 0)


def test_the_file_is_forgotten_only_after_both_jobs_read_it(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    second_model: str,
) -> None:  # fmt: skip
    data, _ = labelled_csv(data_path, 30)
    first, second = start_group(sessions, settings, ada, data, second_model)
    ingesting.ingest(sessions, settings, first, Sent())
    assert files(sessions) == 1  # the second job has not read it yet
    ingesting.ingest(sessions, settings, second, Sent())
    assert files(sessions) == 0
    with sessions() as session:
        jobs = [session.get_one(Job, i) for i in (first, second)]
        assert [(j.status, j.total, j.file_id, j.group_id) for j in jobs] == [
            (JobStatus.QUEUED, 30, None, first),
            (JobStatus.QUEUED, 30, None, first),
        ]
        assert jobs[0].model_id != jobs[1].model_id


def test_a_job_cancelled_before_its_read_does_not_keep_the_file(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    second_model: str,
) -> None:  # fmt: skip
    data, _ = labelled_csv(data_path, 10)
    first, second = start_group(sessions, settings, ada, data, second_model)
    with sessions.begin() as session:
        assert cancel_job(session, session.get_one(Job, second))  # that job only
    ingesting.ingest(sessions, settings, first, Sent())
    assert files(sessions) == 0  # the cancelled job no longer reads it
    ingesting.ingest(sessions, settings, second, Sent())  # its task, delivered late
    with sessions() as session:
        assert session.get_one(Job, first).status == JobStatus.QUEUED
        cancelled = session.get_one(Job, second)
        assert (cancelled.status, cancelled.file_id, cancelled.total) == ("cancelled", None, 0)


def test_cancelled_first_the_other_job_still_reads_the_file(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, data_path: Path,
    second_model: str,
) -> None:  # fmt: skip
    data, _ = labelled_csv(data_path, 10)
    first, second = start_group(sessions, settings, ada, data, second_model)
    with sessions.begin() as session:
        assert cancel_job(session, session.get_one(Job, first))
    ingesting.ingest(sessions, settings, first, Sent())  # lets go of the file, keeps it
    assert files(sessions) == 1
    ingesting.ingest(sessions, settings, second, Sent())
    assert files(sessions) == 0
    with sessions() as session:
        assert session.get_one(Job, second).total == 10
