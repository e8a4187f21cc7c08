"""What every file format reads into: rows with their line, row errors, file errors.

Imports none of its siblings, so each format module can use it."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.text import strip_title_prefix


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
