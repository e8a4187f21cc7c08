"""The upload pages with a file larger than ``inline_bytes``: step 2 previews and checks its
first rows only, says so, and starting hands the stored file to an ingesting job."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.ingest import ingest
from shared.models import Job, JobProblem, StoredFile
from tests.fixtures.web import AuthActions
from tests.shared.jobs.test_ingest import labelled_csv
from tests.web.pages.test_submit import upload, upload_id

INLINE = 20_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(inline_bytes=INLINE)


def stored_files(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(StoredFile)) or 0)


def test_a_large_upload_is_previewed_from_its_head_and_ingested_whole(
    login: AuthActions, sessions: sessionmaker[Session], settings: Settings, data_path: Path
) -> None:
    ada = login.login()
    data, bad = labelled_csv(data_path, 300, bad_every=5)
    assert len(data) > 5 * INLINE
    uid = upload_id(upload(ada, data, "corpus.csv"))
    page = ada.get(f"/upload/{uid}").get_data(as_text=True)
    assert 'id="large-file"' in page and "what is shown below comes from its first" in page
    refused = ada.post(f"/upload/{uid}", data={"action": "start"})
    assert refused.status_code == 400 and "rows have problems" in refused.get_data(as_text=True)
    started = ada.post(f"/upload/{uid}", data={"action": "start", "skip_bad": "on"})
    assert started.status_code == 303, started.get_data(as_text=True)[:500]
    job_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.total, job.source_name) == ("ingesting", 0, "corpus.csv")
    assert stored_files(sessions) == 1  # the job's now: read by the worker, then deleted
    job_page = ada.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Reading the file" in job_page and "read so far" in job_page
    ingest(sessions, settings, job_id, lambda job, ids: None)
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.total, job.rejected) == ("queued", 300 - len(bad), len(bad))
        lines = session.scalars(select(JobProblem.line).where(JobProblem.job_id == job_id))
        assert sorted(lines) == bad
    assert stored_files(sessions) == 0
