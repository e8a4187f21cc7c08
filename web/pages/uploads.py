"""Uploaded files kept between the two upload steps, in the database.

The bytes are a stored file (``shared.papers.storage``), so any web machine behind a load
balancer finds them at step 2, and a large one is handed as it is to the worker that
ingests it. The browser only holds the file's random token, looked up in its own team's
files; a file is deleted when its job has read it, and any left for a day are swept on
the next upload.

Step 2 reads at most ``inline_bytes`` of a file: a larger one is previewed and checked
from its first rows, and the rest is checked as it is read into the job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from shared.models import StoredFile
from shared.papers import kind_of
from shared.papers.objects import object_store
from shared.papers.storage import by_token, delete_file, head, store_file, sweep
from web.extensions import db, settings

# secrets.token_urlsafe(32): checked before any query, so a junk id costs nothing.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class StoredUpload:
    id: str
    name: str
    data: bytes  # the whole file, or its first rows when ``partial``
    file_id: int = 0
    size: int = 0
    partial: bool = False

    @property
    def kind(self) -> str | None:
        return kind_of(self.name)


def save(team_id: int, name: str, stream: IO[bytes]) -> StoredFile:
    """Store an upload (committed); raises ``FileError`` past the upload limit."""
    session, objects = db.session, object_store(settings())
    sweep(session, objects)
    try:
        row = store_file(session, team_id, name, stream, settings().max_upload_bytes, objects)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return row


def load(team_id: int, token: str) -> StoredUpload | None:
    if not _TOKEN.match(token):
        return None
    row = by_token(db.session, team_id, token)
    if row is None:
        return None
    data, whole = head(db.session, row.id, settings().inline_bytes, object_store(settings()))
    if not whole:  # cut at the last full line, so no row is read half
        data = data[: data.rfind(b"\n") + 1] or data
    return StoredUpload(token, row.name, data, row.id, row.size, partial=not whole)


def delete(upload: StoredUpload) -> None:
    delete_file(db.session, upload.file_id, object_store(settings()))
    db.session.commit()
