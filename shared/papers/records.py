"""What every file format reads into: rows with their line, row errors, file errors; and
:func:`load_json`, the one reader of JSON people send (API bodies, JSON Lines files).

Imports none of its siblings, so each format module can use it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from shared.manifest import LabelError, parse_label
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
    label: int | None = None  # the class index (shared.manifest.parse_label), if given

    def as_paper(self) -> dict[str, Any]:
        """The paper as a submission carries it: its fields, ``id`` and ``label``."""
        return {**self.paper, "id": self.external_id, "label": self.label}


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def add_row(
        self, line: int, paper: dict[str, str], external_id: str | None, label: object = None
    ) -> None:
        """The row, or a row error when its label cannot be read (the row is not kept)."""
        try:
            self.rows.append(paper_row(line, paper, external_id, label))
        except LabelError as exc:
            self.errors.append(RowError(line, str(exc)))


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


def paper_row(
    line: int, paper: dict[str, str], external_id: str | None, label: object = None
) -> Row:
    """A row as every format module makes it: fields trimmed, no title prefix, the label
    read (:class:`shared.manifest.LabelError` when it is not a class)."""
    paper = {k: v.strip() for k, v in paper.items()}
    paper["abstract"] = strip_title_prefix(paper["title"], paper["abstract"])
    return Row(line, paper, external_id or None, parse_label(label))


MAX_DEPTH = 100  # papers are objects in a list in an object: a handful of levels
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
_TOO_DEEP = "it is nested too deeply; papers are objects in one list, with text fields"


def load_json(data: str | bytes) -> Any:
    """``json.loads`` for untrusted text. Raises ``json.JSONDecodeError`` for broken JSON
    and :class:`JsonRefused` for nesting deeper than MAX_DEPTH or an integer of more than
    300 digits. Depth is checked before parsing: letting the parser hit the interpreter's
    recursion limit (a RecursionError) leaves CPython 3.11's recursion count off, and a
    later ``compile`` in the same thread fails ("AST constructor recursion depth mismatch")."""
    if _too_deep(data):
        raise JsonRefused(_TOO_DEEP)
    try:
        return json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise JsonRefused(_TOO_DEEP) from None


def _too_deep(data: str | bytes) -> bool:
    """Nesting past MAX_DEPTH, counting brackets outside strings (the regexes run in C, the
    loop only visits brackets: a real submission has a few per paper)."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        return False  # json.loads says what is wrong with it
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JsonRefused(
            f"a number has {digits:,} digits, more than {MAX_INT_DIGITS}; "
            'send long ids as text in quotes, like "id": "12345"'
        )
    return int(text)
