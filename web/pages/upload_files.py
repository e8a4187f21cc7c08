"""Uploaded files between the two upload steps, and reading them with a column mapping.

The bytes are kept on the server under ``<instance>/uploads/<team id>/<random id>``; the
browser only ever holds the random id, checked against a strict pattern and looked up in
its own team's folder, so no client-sent path is ever opened. A file is deleted when its
job starts, and any left over for a day are swept on the next upload.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from shared.papers_io import FileError, Parsed, Row, RowError, strip_title_prefix

TTL_S = 24 * 3600
_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
FORMATS = ("csv", "jsonl", "ndjson", "json", "bib", "bibtex")
TARGETS = ("title", "abstract", "id")
# The columns a mapping picks by default, by name and case-insensitively, first match wins.
GUESSES = {
    "title": ("title", "article title", "document title", "paper title", "name"),
    "abstract": ("abstract", "summary", "description", "abstract note"),
    "id": ("id", "eid", "doi", "external_id", "key", "pmid", "arxiv id"),
}


@dataclass(frozen=True)
class StoredUpload:
    id: str
    name: str
    data: bytes

    @property
    def kind(self) -> str:
        return self.name.lower().rsplit(".", 1)[-1] if "." in self.name else ""


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


def csv_columns(text: str) -> list[str]:
    """The header row's column names (blank ones dropped)."""
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise FileError(f"line 1: the header is not valid CSV: {exc}") from exc
    return [c for c in header if c.strip()]


def default_mapping(columns: list[str]) -> dict[str, str | None]:
    """Each target's column, guessed by name (case-insensitive); None when nothing fits."""
    by_name = {c.strip().lower(): c for c in columns}
    return {
        target: next((by_name[g] for g in guesses if g in by_name), None)
        for target, guesses in GUESSES.items()
    }


def parse_csv(text: str, mapping: dict[str, str | None]) -> Parsed:
    """Rows read through ``mapping`` (target -> column), each with the line it starts on."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out = Parsed()
    try:
        _ = reader.fieldnames  # reads the header, so line_num points past it
        line = reader.line_num + 1
        for record in reader:
            paper = {t: (record.get(mapping[t] or "") or "").strip() for t in ("title", "abstract")}
            paper["abstract"] = strip_title_prefix(paper["title"], paper["abstract"])
            ext = (record.get(mapping["id"]) or "").strip() if mapping.get("id") else ""
            out.rows.append(Row(line, paper, ext or None))
            line = reader.line_num + 1
    except csv.Error as exc:
        out.errors.append(RowError(line, f"malformed CSV: {exc}"))
    return out
