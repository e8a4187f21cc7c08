"""Reading a file block by block (``shared.papers.stream``) gives exactly what reading it whole
gives: the same rows, the same row errors, on the same lines, whatever the chunk size."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from shared.papers import FileError, kind_of, parse_papers
from shared.papers import stream as streaming
from shared.papers.stream import iter_papers


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def whole(data: bytes, name: str) -> list[object]:
    parsed = parse_papers(data, name)
    return sorted([*parsed.rows, *parsed.errors], key=lambda e: e.line)


def labelled(data_path: Path, rows: int) -> list[dict[str, str]]:
    with data_path.open(encoding="utf-8") as f:
        return [r for _, r in zip(range(rows), csv.DictReader(f), strict=False)]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "BLOCK_LINES", 7)  # many blocks, cut at awkward places


@pytest.mark.parametrize("size", [1, 5, 97, 4096])
def test_a_csv_read_in_blocks_equals_the_csv_read_whole(data_path: Path, size: int) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["eid", "title", "abstract"])
    for n, r in enumerate(labelled(data_path, 60)):
        abstract = r["abstract"]
        if n % 5 == 0:  # a quoted abstract across lines, with a non-ASCII word
            abstract = abstract.replace(". ", ".\nNaïve ", 2)
        if n % 11 == 3:
            abstract = " "  # a row error
        writer.writerow([r["eid"], r["title"], abstract])
    data = b"\xef\xbb\xbf" + out.getvalue().encode()
    got = list(iter_papers(pieces(data, size), "p.csv", "csv"))
    assert got == whole(data, "p.csv")
    assert len(got) == 60


def test_json_lines_read_in_blocks_equal_them_read_whole(data_path: Path) -> None:
    lines = [json.dumps({"title": r["title"], "abstract": r["abstract"], "id": r["eid"]})
             for r in labelled(data_path, 40)]  # fmt: skip
    lines[9], lines[20] = "{not json", "[1, 2]"
    lines.insert(30, "")
    data = "\n".join(lines).encode()
    got = list(iter_papers(pieces(data, 33), "p.jsonl", "jsonl"))
    assert got == whole(data, "p.jsonl")
    assert [e.line for e in got if not hasattr(e, "paper")] == [10, 21]


def test_bibtex_is_read_whole() -> None:
    data = b"@article{k1, title={Social media}, abstract={We study it.}}\n"
    assert list(iter_papers(pieces(data, 4), "p.bib", "bibtex")) == whole(data, "p.bib")


def test_a_file_that_is_not_utf8_is_refused_at_once_or_cut_where_it_breaks() -> None:
    head = b"title,abstract\n"
    with pytest.raises(FileError, match=r"line 2: byte 0xff is not UTF-8"):
        list(iter_papers(pieces(head + b"Bad,\xff\n", 10), "p.csv", kind_of("p.csv") or ""))
    long = head + b"A paper,Its text.\n" * 25 + b"Bad,\xff\n"
    got = list(iter_papers(pieces(long, 10), "p.csv", "csv"))
    assert [e.line for e in got if hasattr(e, "paper")] == list(range(2, 27))
    assert got[-1].line == 27 and "line 27: byte 0xff is not UTF-8" in got[-1].message  # type: ignore[union-attr]
    assert "the rest of the file was not read" in got[-1].message  # type: ignore[union-attr]


def test_missing_columns_are_refused_before_any_row() -> None:
    with pytest.raises(FileError, match="no 'abstract' column"):
        list(iter_papers([b"title,text\nA,B\n"], "p.csv", "csv"))
