"""CSV files: the one reader behind the API, ``occlab explain``/``submit`` and the upload page.

Columns are found by name, case-insensitively, so the exports people have open the same way
everywhere (Scopus, Web of Science, PubMed, arXiv, Zotero); the upload page lets a person
pick other columns, and everything else passes no mapping and gets the guess.
"""

from __future__ import annotations

import csv
import io

from shared.manifest import LABEL_KEYS
from shared.papers.records import FileError, Parsed, RowError
from shared.units import FIELDS

TARGETS = (*FIELDS, "id", "label")
Mapping = dict[str, str | None]
# The header names each target is read from, first match wins. WoS tags (TI, AB, UT) and
# full names ("UT (Unique WOS ID)") both occur, as do Scopus's EID and PubMed's PMID.
GUESSES: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "document title", "paper title", "ti", "name"),
    "abstract": ("abstract", "summary", "description", "abstract note", "ab"),
    "id": (
        "id",
        "external_id",
        "eid",
        "doi",
        "key",
        "pmid",
        "pubmed id",
        "arxiv id",
        "ut",
        "ut (unique wos id)",
        "accession number",
    ),
    "label": LABEL_KEYS,
}


def csv_columns(text: str) -> list[str]:
    """The header row's column names (blank ones dropped)."""
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise FileError(f"line 1: the header is not valid CSV: {exc}") from exc
    return [c for c in header if c.strip()]


def guess_mapping(columns: list[str]) -> Mapping:
    """Each target's column, guessed by name (case-insensitive); None when nothing fits."""
    by_name = {c.strip().lower(): c for c in columns}
    return {
        target: next((by_name[g] for g in guesses if g in by_name), None)
        for target, guesses in GUESSES.items()
    }


def parse_csv(text: str, name: str, mapping: Mapping | None = None) -> Parsed:
    """Rows read through ``mapping`` (target -> column; None guesses it from the header),
    each with the line it starts on. A file whose title or abstract column cannot be found
    is a :class:`FileError` that lists the columns it has and the names that are read."""
    if mapping is None:
        mapping = _guessed(csv_columns(text), name)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out = Parsed()
    try:
        _ = reader.fieldnames  # reads the header, so line_num points past it
        line = reader.line_num + 1
        for record in reader:
            paper = {f: record.get(mapping[f] or "") or "" for f in FIELDS}
            ext, label = (record.get(mapping[t] or "") if mapping.get(t) else None
                          for t in ("id", "label"))  # fmt: skip
            out.add_row(line, paper, (ext or "").strip(), label)
            line = reader.line_num + 1
    except csv.Error as exc:
        out.errors.append(RowError(line, f"malformed CSV: {exc}"))
    return out


def _guessed(columns: list[str], name: str) -> Mapping:
    mapping = guess_mapping(columns)
    missing = [f for f in FIELDS if mapping[f] is None]
    if missing:
        accepted = "; ".join(f"{f}: {', '.join(GUESSES[f])}" for f in missing)
        raise FileError(
            f"{name}: no {' or '.join(repr(f) for f in missing)} column "
            f"(found: {', '.join(columns) or 'none'}); the first line must name the columns, "
            f"and these names are read ({accepted})"
        )
    return mapping
