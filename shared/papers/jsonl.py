"""JSON Lines: one paper object a line, `title` and `abstract` text, optional `id`."""

from __future__ import annotations

import json
from collections.abc import Iterator

from shared.papers.records import JsonRefused, Parsed, RowError, load_json, paper_row
from shared.units import FIELDS


def parse_jsonl(text: str) -> Parsed:
    out = Parsed()
    for line, raw in _numbered(text):
        try:
            obj = load_json(raw)
        except json.JSONDecodeError as exc:
            out.errors.append(RowError(line, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        except JsonRefused as exc:
            out.errors.append(RowError(line, f"not read: {exc}"))
            continue
        if not isinstance(obj, dict):
            out.errors.append(RowError(line, "each line must be a JSON object"))
            continue
        bad = [c for c in FIELDS if not isinstance(obj.get(c), str)]
        if bad:
            out.errors.append(RowError(line, f"missing or non-text {' and '.join(bad)}"))
            continue
        ext = obj.get("id", obj.get("external_id"))
        out.rows.append(
            paper_row(line, {c: obj[c] for c in FIELDS}, None if ext is None else str(ext))
        )
    return out


def _numbered(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            yield number, raw
