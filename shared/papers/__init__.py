"""Reading papers from the files people bring: CSV, JSON Lines or BibTeX.

One entry for every way in (the API, the upload page, ``occlab explain`` and ``submit``):
:func:`parse_papers` picks the format by the file's suffix. Every problem is reported with
the line it is on, so a person can fix the file; a bad row never hides the good ones.
"""

from __future__ import annotations

from pathlib import Path

from shared.papers.bibtex import parse_bibtex
from shared.papers.jsonl import parse_jsonl
from shared.papers.records import (
    FileError,
    JsonRefused,
    Parsed,
    Row,
    RowError,
    decode_text,
    load_json,
    paper_row,
)
from shared.papers.tabular import Mapping, parse_csv

__all__ = [
    "FORMATS",
    "UNKNOWN_TYPE",
    "FileError",
    "JsonRefused",
    "Parsed",
    "Row",
    "RowError",
    "decode_text",
    "kind_of",
    "load_json",
    "paper_row",
    "parse_papers",
    "read_papers",
]

# File suffix -> format: the one table of what can be uploaded.
FORMATS = {
    "csv": "csv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "jsonl",
    "bib": "bibtex",
    "bibtex": "bibtex",
}
UNKNOWN_TYPE = "unknown file type; give a .csv, .jsonl or .bib file"


def kind_of(name: str) -> str | None:
    """The format of a file called ``name`` (``csv``, ``jsonl``, ``bibtex``), or None."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    return FORMATS.get(suffix)


def read_papers(path: Path, max_bytes: int) -> Parsed:
    """Parse the file at ``path``, refusing one over ``max_bytes`` (the upload limit)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileError(f"{path.name} is {size:,} bytes; the limit is {max_bytes:,}: split it")
    return parse_papers(path.read_bytes(), path.name)


def parse_papers(data: bytes, name: str, mapping: Mapping | None = None) -> Parsed:
    """Papers in ``data``, a file called ``name``; ``mapping`` picks CSV columns (default:
    guessed from the header, the same guess everywhere)."""
    kind = kind_of(name)
    if kind is None:
        raise FileError(f"{name}: {UNKNOWN_TYPE}")
    text = decode_text(data, name)
    if kind == "csv":
        return parse_csv(text, name, mapping)
    return parse_jsonl(text) if kind == "jsonl" else parse_bibtex(text)
