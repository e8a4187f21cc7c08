"""Uploaded files kept between the two upload steps.

The bytes are kept on the server under ``<instance>/uploads/<team id>/<random id>``; the
browser only ever holds the random id, checked against a strict pattern and looked up in
its own team's folder, so no client-sent path is ever opened. A file is deleted when its
job starts, and any left over for a day are swept on the next upload.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from shared.papers import kind_of

TTL_S = 24 * 3600


_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class StoredUpload:
    id: str
    name: str
    data: bytes

    @property
    def kind(self) -> str | None:
        return kind_of(self.name)


class UploadStore:
    def __init__(self, root: Path, ttl_s: int = TTL_S) -> None:
        self.root = root
        self.ttl_s = ttl_s

    def _paths(self, team_id: int, upload_id: str) -> tuple[Path, Path] | None:
        if not _ID.match(upload_id):
            return None
        folder = self.root / str(int(team_id))
        return folder / f"{upload_id}.data", folder / f"{upload_id}.json"

    def save(self, team_id: int, name: str, data: bytes) -> str:
        self.sweep()
        upload_id = secrets.token_urlsafe(16)
        paths = self._paths(team_id, upload_id)
        assert paths is not None
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        paths[0].write_bytes(data)
        paths[1].write_text(json.dumps({"name": name}), encoding="utf-8")
        return upload_id

    def load(self, team_id: int, upload_id: str) -> StoredUpload | None:
        paths = self._paths(team_id, upload_id)
        if paths is None or not (paths[0].is_file() and paths[1].is_file()):
            return None
        if time.time() - paths[0].stat().st_mtime > self.ttl_s:
            self.delete(team_id, upload_id)
            return None
        meta = json.loads(paths[1].read_text(encoding="utf-8"))
        return StoredUpload(upload_id, str(meta["name"]), paths[0].read_bytes())

    def delete(self, team_id: int, upload_id: str) -> None:
        for path in self._paths(team_id, upload_id) or ():
            path.unlink(missing_ok=True)

    def sweep(self) -> None:
        """Delete every stored file older than the time to live."""
        cutoff = time.time() - self.ttl_s
        for path in self.root.glob("*/*.*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
            except OSError:
                continue  # removed by another request meanwhile
