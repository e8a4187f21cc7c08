"""JSON Lines: one paper object a line, `title` and `abstract` text, optional `id` and
label (`label`, `class` or `is_computational`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from shared.manifest import LABEL_KEYS
from shared.papers.records import JsonRefused, Parsed, RowError, load_json
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
        label = next((obj[k] for k in LABEL_KEYS if _given(obj.get(k))), None)
        out.add_row(line, {c: obj[c] for c in FIELDS}, None if ext is None else str(ext), label)
    return out


def _numbered(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            yield number, raw


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())
