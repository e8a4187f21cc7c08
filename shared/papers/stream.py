"""Reading a large file a block of rows at a time, with the same readers as a small one.

``iter_papers(pieces, name)`` decodes the file's bytes as they come (``pieces``: a stored
file's chunks), cuts the text into blocks of whole rows, and gives each block to the
format's own parser (``parse_csv``, ``parse_jsonl``), shifting its line numbers back to
the file's. So a million-row file costs one block of memory, and every rule of the one
reader (guessed columns, labels, title prefixes, row errors) holds for it unchanged.

A CSV row may span lines (a quoted abstract with line breaks): blocks are cut where the
``csv`` module ends a record, never inside one. BibTeX is read whole (entries are free
text across lines, and such files are small). A byte that is not UTF-8 after the first row
cannot refuse the file any more (its first rows may be in the job): it ends the reading
with a row error that says so.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import itertools
from collections.abc import Iterable, Iterator

from shared.papers.bibtex import parse_bibtex
from shared.papers.jsonl import parse_jsonl
from shared.papers.records import FileError, Parsed, Row, RowError, decode_text
from shared.papers.tabular import Mapping, parse_csv

BLOCK_LINES = 2000
BOM = "\ufeff"


def iter_papers(
    pieces: Iterable[bytes], name: str, kind: str, mapping: Mapping | None = None
) -> Iterator[Row | RowError]:
    """The file's rows and row errors in file order; ``FileError`` if it cannot be read at
    all (unknown columns, or not UTF-8 before its first row)."""
    if kind == "bibtex":
        yield from _in_order(parse_bibtex(decode_text(b"".join(pieces), name)))
        return
    lines = _Lines(pieces, name)
    given = 0
    try:
        for entry in _blocks(lines, name, kind, mapping):
            given += 1
            yield entry
    except csv.Error as exc:
        yield RowError(lines.number, f"malformed CSV: {exc}; the rest of the file was not read")
    if lines.error is not None:
        if not given:
            raise lines.error
        yield RowError(lines.error_line, f"{lines.error}; the rest of the file was not read")


def _blocks(
    lines: _Lines, name: str, kind: str, mapping: Mapping | None
) -> Iterator[Row | RowError]:
    if kind == "csv":
        yield from _csv_blocks(lines, name, mapping)
    else:
        for first, block in _line_blocks(lines):
            yield from _shifted(parse_jsonl(block), first - 1)


class _Lines:
    """The decoded lines of a stream of bytes, each with its ``\\n``, counted as they go.
    A byte that is not UTF-8 ends them, with ``error`` saying where."""

    def __init__(self, pieces: Iterable[bytes], name: str) -> None:
        self.pieces, self.name, self.number = pieces, name, 0
        self.error: FileError | None = None
        self.error_line = 0

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        rest, started = "", False
        bad: int | None
        for piece in itertools.chain(self.pieces, [b""]):
            try:
                text = rest + decoder.decode(piece, final=not piece)
            except UnicodeDecodeError as exc:  # the lines before the bad byte still count
                text, bad = rest + bytes(exc.object[: exc.start]).decode(), exc.object[exc.start]
            else:
                bad = None
            if not started and text:  # the BOM, once, even split across pieces
                text, started = text.removeprefix(BOM), True
            *whole, rest = text.split("\n")
            for line in whole:
                self.number += 1
                yield line + "\n"
            if bad is not None:
                self._stop(bad)
                return
        if rest:
            self.number += 1
            yield rest

    def _stop(self, bad: int) -> None:
        self.error_line = self.number + 1
        self.error = FileError(
            f"{self.name}, line {self.error_line}: byte {bad:#04x} is not UTF-8; save the file "
            "as UTF-8 and upload it again"
        )


def _line_blocks(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(the block's first line number, its text) for blocks of ``BLOCK_LINES`` lines."""
    block: list[str] = []
    first = 1
    for line in lines:
        block.append(line)
        if len(block) == BLOCK_LINES:
            yield first, "".join(block)
            first, block = first + len(block), []
    if block:
        yield first, "".join(block)


def _csv_blocks(lines: _Lines, name: str, mapping: Mapping | None) -> Iterator[Row | RowError]:
    """Blocks of whole CSV records, each parsed after the header line."""
    raw: list[str] = []

    def kept() -> Iterator[str]:  # the lines the csv module reads, kept as they pass
        for line in lines:
            raw.append(line)
            yield line

    records = csv.reader(kept())
    next(records, None)
    header, raw[:] = "".join(raw), []
    block: list[str] = []
    first = 2  # the header is line 1
    for _ in records:
        block += raw
        raw.clear()
        if len(block) >= BLOCK_LINES:
            yield from _shifted(parse_csv(header + "".join(block), name, mapping), first - 2)
            first, block = first + len(block), []
    if block or first == 2:  # a header alone still gets its columns checked
        yield from _shifted(parse_csv(header + "".join(block), name, mapping), first - 2)


def _shifted(parsed: Parsed, offset: int) -> Iterator[Row | RowError]:
    for entry in _in_order(parsed):
        yield dataclasses.replace(entry, line=entry.line + offset)


def _in_order(parsed: Parsed) -> list[Row | RowError]:
    return sorted([*parsed.rows, *parsed.errors], key=lambda e: e.line)
