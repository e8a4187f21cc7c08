"""Stored files in an S3-compatible store (OCCLAB_OBJECT_STORE): bytes in the bucket, the
row in SQL, read back in pieces, refused past the limit with nothing left behind, deleted
with the row; and a large file ingested from there, as a worker on another machine would."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.ingest import ingest, start_ingest
from shared.jobs.submit import Submission
from shared.models import Job, StoredFile, StoredFileChunk
from shared.papers import FileError
from shared.papers.objects import object_store
from shared.papers.storage import chunks, delete_file, store_file
from tests.fixtures.factories import Member
from tests.fixtures.objects import ObjectServer
from tests.shared.jobs.test_ingest import labelled_csv


def bucket_of(settings: Settings) -> str:
    return settings.object_store.removeprefix("s3://").split("/")[0]


def test_a_file_s_bytes_go_to_the_bucket_and_come_back_in_pieces(
    object_settings: Settings, object_server: ObjectServer, sessions: sessionmaker[Session],
    ada: Member,
) -> None:  # fmt: skip
    objects = object_store(object_settings)
    data = bytes(range(256)) * 9000  # 2.3 MB: three pieces
    with sessions.begin() as session:
        row = store_file(session, ada.team_id, "p.csv", io.BytesIO(data), 10**7, objects)
        file_id, url = row.id, row.object_url
    assert url is not None and url.startswith(f"s3://{bucket_of(object_settings)}/stored/")
    [key] = object_server.keys(bucket_of(object_settings))
    assert url.endswith(key)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoredFileChunk)) == 0
        pieces = list(chunks(session, file_id, objects))
        assert len(pieces) == 3 and b"".join(pieces) == data
        with pytest.raises(FileError, match="set OCCLAB_OBJECT_STORE"):
            list(chunks(session, file_id))  # a machine without the setting says so
    with sessions.begin() as session:
        delete_file(session, file_id, objects)
    assert object_server.keys(bucket_of(object_settings)) == []


def test_a_file_over_the_limit_leaves_no_object(
    object_settings: Settings, object_server: ObjectServer, sessions: sessionmaker[Session],
    ada: Member,
) -> None:  # fmt: skip
    objects = object_store(object_settings)
    with sessions() as session, pytest.raises(FileError, match="over the limit of 1,000 bytes"):
        store_file(session, ada.team_id, "big.csv", io.BytesIO(b"x" * 5000), 1000, objects)
    assert object_server.keys(bucket_of(object_settings)) == []


def test_a_large_file_is_ingested_from_the_object_store(
    object_settings: Settings, object_server: ObjectServer, sessions: sessionmaker[Session],
    ada: Member, data_path: Path,
) -> None:  # fmt: skip
    data, bad = labelled_csv(data_path, 120, bad_every=13)
    objects = object_store(object_settings)
    with sessions.begin() as session:
        stored = store_file(session, ada.team_id, "c.csv", io.BytesIO(data), 10**8, objects)
        sub = Submission(ada.team_id, ada.user_id, [], file_id=stored.id)
        job_id = start_ingest(session, object_settings, sub).id
    ingest(sessions, object_settings, job_id, lambda job, ids: None)
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.total, job.rejected) == ("queued", 120 - len(bad), len(bad))
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert object_server.keys(bucket_of(object_settings)) == []
