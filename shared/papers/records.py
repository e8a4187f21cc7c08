"""What every file format reads into: rows with their line, row errors, file errors; and
:func:`load_json`, the one reader of JSON people send (API bodies, JSON Lines files).

Imports none of its siblings, so each format module can use it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.text import strip_title_prefix


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, format, missing columns)."""


class JsonRefused(ValueError):
    """Valid JSON that is not read: nested too deeply, or a number with too many digits."""


# Ids and counts need a few dozen digits; Python refuses to convert past 4,300 anyway, and
# converting is quadratic in the digits, so longer numbers are refused before it starts.
MAX_INT_DIGITS = 300


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


def paper_row(line: int, paper: dict[str, str], external_id: str | None) -> Row:
    """A row as every format module makes it: fields trimmed, no title prefix."""
    paper = {k: v.strip() for k, v in paper.items()}
    paper["abstract"] = strip_title_prefix(paper["title"], paper["abstract"])
    return Row(line, paper, external_id or None)


def load_json(data: str | bytes) -> Any:
    """``json.loads`` for untrusted text. Raises ``json.JSONDecodeError`` for broken JSON
    and :class:`JsonRefused` for nesting past the interpreter's stack (a RecursionError,
    which would otherwise be a server error) or an integer of more than 300 digits."""
    try:
        return json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise JsonRefused(
            "it is nested too deeply; papers are objects in one list, with text fields"
        ) from None


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JsonRefused(
            f"a number has {digits:,} digits, more than {MAX_INT_DIGITS}; "
            'send long ids as text in quotes, like "id": "12345"'
        )
    return int(text)
