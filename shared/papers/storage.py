"""Files kept in the database, in 1 MiB chunks, so that every machine can read them.

A large submission is stored here by the web and read by whichever worker ingests it; the
upload page keeps a file here between its two steps, so a second web machine behind a
load balancer finds it too. A worker on another machine needs only ``DATABASE_URL``. With
``OCCLAB_OBJECT_STORE`` set the bytes go to an S3-compatible store instead
(``shared.papers.objects``); the row, with the object's URL, stays here.

Bytes go in and come out a chunk at a time: neither the web nor the worker ever holds a
whole file (a 2 GiB upload costs the web one chunk of memory).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.models import Job, RegisteredModel, StoredFile, StoredFileChunk
from shared.papers.objects import ObjectStore
from shared.papers.records import FileError

CHUNK_BYTES = 1 << 20
UPLOAD_TTL = timedelta(days=1)


def store_file(
    session: Session,
    team_id: int,
    name: str,
    stream: IO[bytes],
    max_bytes: int,
    objects: ObjectStore | None = None,
) -> StoredFile:
    """Copy ``stream`` into a new stored file (flushed, not committed): its bytes into
    ``objects`` when given, else into the database. Raises :class:`FileError` past
    ``max_bytes``; the caller rolls back what was written."""
    row = StoredFile(team_id=team_id, token=secrets.token_urlsafe(32), name=name[:300], size=0)
    session.add(row)
    session.flush()
    if objects is not None:
        key = f"{team_id}/{row.id}-{row.token}"
        row.object_url, row.size, row.sha256 = objects.put(key, stream, max_bytes, name)
        session.flush()
        return row
    chunk_key = {"file_id": row.id}
    row.size, row.sha256 = write_chunks(
        session, StoredFileChunk, chunk_key, stream, max_bytes, name
    )
    session.flush()
    return row


def write_chunks(
    session: Session, table: Any, key: dict[str, Any], stream: IO[bytes], max_bytes: int,
    name: str,
) -> tuple[int, str]:  # fmt: skip
    """Copy ``stream`` into rows of ``table`` (``key``'s columns, ``n``, ``data``) a chunk at
    a time; its size and sha256. Raises :class:`FileError` past ``max_bytes``."""
    digest, size = hashlib.sha256(), 0
    for n, piece in enumerate(iter(lambda: stream.read(CHUNK_BYTES), b"")):
        size += len(piece)
        if size > max_bytes:
            raise FileError(f"{name} is over the limit of {max_bytes:,} bytes: split it")
        digest.update(piece)
        session.execute(insert(table).values(**key, n=n, data=piece))
    return size, digest.hexdigest()


def read_chunks(session: Session, table: Any, key: dict[str, Any]) -> Iterator[bytes]:
    """What ``write_chunks`` wrote under ``key``, one chunk per query."""
    query = select(table.data).where(*(getattr(table, k) == v for k, v in key.items()))
    n = 0
    while (data := session.scalar(query.where(table.n == n))) is not None:
        yield bytes(data)
        n += 1


def store_bytes(
    session: Session, team_id: int, name: str, data: bytes, objects: ObjectStore | None = None
) -> StoredFile:
    """``store_file`` for bytes already in memory (a small upload, a JSON body's papers)."""
    return store_file(session, team_id, name, io.BytesIO(data), len(data), objects)


def chunks(session: Session, file_id: int, objects: ObjectStore | None = None) -> Iterator[bytes]:
    """The file's bytes, one chunk per query or object read (never the whole file in
    memory). A file in an object store needs ``objects`` (``FileError`` without)."""
    row = session.get(StoredFile, file_id)
    if row is not None and row.object_url:
        if objects is None:
            raise FileError("the file is in an object store: set OCCLAB_OBJECT_STORE here too")
        yield from objects.pieces(row.object_url)
        return
    yield from read_chunks(session, StoredFileChunk, {"file_id": file_id})


def head(
    session: Session, file_id: int, max_bytes: int, objects: ObjectStore | None = None
) -> tuple[bytes, bool]:
    """The first ``max_bytes`` (or all) of a file, and whether that is the whole file."""
    out = bytearray()
    for piece in chunks(session, file_id, objects):
        out += piece
        if len(out) > max_bytes:
            return bytes(out[:max_bytes]), False
    return bytes(out), True


def by_token(session: Session, team_id: int, token: str) -> StoredFile | None:
    """The team's file with this token, unless it has outlived ``UPLOAD_TTL``."""
    row = session.scalar(
        select(StoredFile).where(StoredFile.token == token, StoredFile.team_id == team_id)
    )
    if row is None or row.created_at < utcnow() - UPLOAD_TTL:
        return None
    return row


def delete_file(session: Session, file_id: int, objects: ObjectStore | None = None) -> None:
    url = session.scalar(select(StoredFile.object_url).where(StoredFile.id == file_id))
    if url and objects is not None:
        objects.delete(url)
    session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
    session.execute(delete(StoredFile).where(StoredFile.id == file_id))


def sweep(session: Session, objects: ObjectStore | None = None) -> int:
    """Delete files older than ``UPLOAD_TTL`` that no job or model import is reading
    (uploads left at the page's second step); returns how many."""
    reading = select(Job.file_id).where(Job.file_id.is_not(None))
    old = session.scalars(
        select(StoredFile.id).where(
            StoredFile.created_at < utcnow() - UPLOAD_TTL, StoredFile.id.not_in(reading)
        )
    ).all()
    # A model's upload waits for a worker to import it, however long the workers are down.
    waiting = {i for u in session.scalars(select(RegisteredModel.upload)) if u for i in u.values()}
    old = [file_id for file_id in old if file_id not in waiting]
    for file_id in old:
        delete_file(session, file_id, objects)
    return len(old)
