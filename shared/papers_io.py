"""Reading papers from files people bring: CSV with title/abstract columns, JSON Lines, or
BibTeX with abstracts (parsed in shared/bibtex.py).

Every problem is reported with the line it is on, so a person can fix the file; a bad row
never hides the good ones.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED = ("title", "abstract")
MAX_FILE_BYTES = 50 * 1024 * 1024


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, format, missing columns)."""


@dataclass(frozen=True)
class Row:
    line: int
    paper: dict[str, str]
    external_id: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def read_papers(path: Path) -> Parsed:
    """Parse ``path`` by its extension (.csv, .jsonl/.ndjson/.json)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FileError(f"{path.name} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}: split it")
    return parse_papers(path.read_bytes(), path.name)


def parse_papers(data: bytes, name: str) -> Parsed:
    text = decode_text(data, name)
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "csv":
        return _parse_csv(text, name)
    if suffix in ("jsonl", "ndjson", "json"):
        return _parse_jsonl(text)
    if suffix in ("bib", "bibtex"):
        from shared.bibtex import parse_bibtex  # here: shared.bibtex imports this module

        return parse_bibtex(text)
    raise FileError(f"{name}: unknown file type; give a .csv, .jsonl or .bib file")


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text of an uploaded file; the error names the line of the first bad byte."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # a BOM; stripped first so offsets stay true
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            f"{name}, line {line}: byte {data[exc.start]:#04x} is not UTF-8; "
            "save the file as UTF-8 and upload it again"
        ) from exc


def _parse_csv(text: str, name: str) -> Parsed:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {c.strip().lower(): c for c in (reader.fieldnames or []) if c}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FileError(
            f"{name}: no {' or '.join(repr(c) for c in missing)} column "
            f"(found: {', '.join(columns.values()) or 'none'}); "
            "the first line must name the columns"
        )
    id_col = next((columns[c] for c in ("id", "eid", "doi", "external_id") if c in columns), None)
    out = Parsed()
    try:
        # A quoted field may span lines: a record starts on the line after the previous one.
        line = reader.line_num + 1
        for row in reader:
            paper = {c: (row.get(columns[c]) or "") for c in REQUIRED}
            out.rows.append(paper_row(line, paper, row.get(id_col) if id_col else None))
            line = reader.line_num + 1
    except csv.Error as exc:
        out.errors.append(RowError(line, f"malformed CSV: {exc}"))
    return out


def _parse_jsonl(text: str) -> Parsed:
    out = Parsed()
    for line, raw in _numbered(text):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            out.errors.append(RowError(line, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(obj, dict):
            out.errors.append(RowError(line, "each line must be a JSON object"))
            continue
        bad = [c for c in REQUIRED if not isinstance(obj.get(c), str)]
        if bad:
            out.errors.append(RowError(line, f"missing or non-text {' and '.join(bad)}"))
            continue
        ext = obj.get("id", obj.get("external_id"))
        out.rows.append(
            paper_row(line, {c: obj[c] for c in REQUIRED}, None if ext is None else str(ext))
        )
    return out


def _numbered(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            yield number, raw


def strip_title_prefix(title: str, abstract: str) -> str:
    """Scopus exports start every abstract with its title and '. '; the model must not read it."""
    # Only the exact export form: a title that merely shares the abstract's first words stays.
    prefix = title + ". "
    if title and abstract.startswith(prefix):
        return abstract[len(prefix) :].lstrip()
    return abstract


def paper_row(line: int, paper: dict[str, str], external_id: str | None) -> Row:
    """A row as every format makes it (shared.bibtex too): fields trimmed, no title prefix."""
    paper = {k: v.strip() for k, v in paper.items()}
    paper["abstract"] = strip_title_prefix(paper["title"], paper["abstract"])
    return Row(line, paper, external_id or None)
