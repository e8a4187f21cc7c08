"""Reading papers from CSV and JSON Lines files, with every problem located by line."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from shared.config import Settings
from shared.papers import FileError, JsonRefused, load_json, parse_papers, read_papers
from shared.text import strip_title_prefix
from tests.fixtures.hostile import DEEP_JSON, HUGE_INT

LIMIT = Settings.max_upload_bytes


def test_csv_columns_are_case_insensitive():
    data = b"TITLE, Abstract ,year\nSocial media,We study it.,2020\nSoil,Nitrogen.,2021\n"
    parsed = parse_papers(data, "papers.csv")
    assert parsed.errors == []
    assert [(r.line, r.paper) for r in parsed.rows] == [
        (2, {"title": "Social media", "abstract": "We study it."}),
        (3, {"title": "Soil", "abstract": "Nitrogen."}),
    ]
    assert all(r.external_id is None for r in parsed.rows)


def test_csv_with_bom_and_crlf():
    data = "\ufefftitle,abstract\r\nSocial media,We study it.\r\n".encode()
    parsed = parse_papers(data, "p.CSV")
    assert [r.paper["title"] for r in parsed.rows] == ["Social media"]


def test_missing_column_names_it_and_the_columns_found():
    with pytest.raises(FileError) as info:
        parse_papers(b"Title,Body,Year\nA,B,2020\n", "papers.csv")
    message = str(info.value)
    assert "'abstract'" in message
    assert "'title'" not in message
    assert "Title, Body, Year" in message
    assert "abstract, summary" in message  # the names that would have been read
    assert "papers.csv" in message


def test_missing_both_columns():
    with pytest.raises(FileError, match=r"'title' or 'abstract'.*found: heading, text"):
        parse_papers(b"heading,text\nA,B\n", "p.csv")


@pytest.mark.parametrize(
    ("header", "ext"),
    [
        ("Article Title,Abstract,PMID", "123"),  # PubMed, Web of Science full names
        ("TI,AB,UT", "123"),  # Web of Science tags
        ("Title,Abstract,EID", "123"),  # Scopus
        ("title,summary,arxiv id", "123"),  # arXiv
        ("Title,Abstract Note,Key", "123"),  # Zotero
    ],
)
def test_common_export_headers_are_read(header, ext):
    parsed = parse_papers(f"{header}\nSocial media, We study it. ,{ext}\n".encode(), "x.csv")
    assert parsed.errors == []
    assert [(r.paper, r.external_id) for r in parsed.rows] == [
        ({"title": "Social media", "abstract": "We study it."}, ext)
    ]


def test_non_utf8_names_the_line():
    data = b"title,abstract\nSocial media,We study it.\nCaf\xe9 culture,Fine.\n"
    with pytest.raises(FileError, match=r"p\.csv, line 3: byte 0xe9 is not UTF-8"):
        parse_papers(data, "p.csv")


def test_non_utf8_after_a_byte_order_mark_names_the_right_line_and_byte():
    data = "\ufefftitle,abstract\n".encode() + b"\xff bad,row\n"
    with pytest.raises(FileError, match=r"p\.csv, line 2: byte 0xff is not UTF-8"):
        parse_papers(data, "p.csv")


def test_jsonl_bad_line_reported_while_others_parse(tmp_path: Path):
    lines = [
        json.dumps({"title": "Social media", "abstract": "We study it.", "id": 7}),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"title": "No abstract"}),
        json.dumps({"title": "Soil", "abstract": 5}),
        json.dumps({"title": "Soil", "abstract": "Nitrogen.", "external_id": "x-1"}),
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = read_papers(path, LIMIT)
    assert [(r.line, r.paper["title"], r.external_id) for r in parsed.rows] == [
        (1, "Social media", "7"),
        (7, "Soil", "x-1"),
    ]
    assert [e.line for e in parsed.errors] == [3, 4, 5, 6]
    assert "not valid JSON" in parsed.errors[0].message
    assert "JSON object" in parsed.errors[1].message
    assert "abstract" in parsed.errors[2].message
    assert "abstract" in parsed.errors[3].message


def test_jsonl_too_deep_or_too_long_numbers_are_row_errors() -> None:
    good = b'{"title": "Soil", "abstract": "Nitrogen.", "id": 12}'
    huge = b'{"title": "T", "abstract": "A", "id": %s}' % HUGE_INT.encode()
    parsed = parse_papers(b"\n".join([DEEP_JSON, good, huge]), "papers.jsonl")
    assert [(r.line, r.external_id) for r in parsed.rows] == [(2, "12")]
    assert [(e.line, e.message) for e in parsed.errors] == [
        (1, "not read: it is nested too deeply; papers are objects in one list, with text fields"),
        (3, "not read: a number has 5,000 digits, more than 300; "
            'send long ids as text in quotes, like "id": "12345"'),
    ]  # fmt: skip


def test_load_json_reads_what_json_reads_and_refuses_the_rest() -> None:
    assert load_json(b'{"id": -%s, "x": [1.5e400]}' % (b"9" * 300)) == {
        "id": -int("9" * 300),
        "x": [float("inf")],
    }
    for hostile, fragment in ((DEEP_JSON, "nested too deeply"), (HUGE_INT, "5,000 digits")):
        with pytest.raises(JsonRefused, match=fragment):
            load_json(hostile)
    with pytest.raises(json.JSONDecodeError):
        load_json("{")


def test_deep_json_is_refused_before_the_parser_recurses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A RecursionError inside json leaves CPython 3.11's count off: a later compile in this
    thread failed with "AST constructor recursion depth mismatch" (a 500 on the next page)."""
    parsed: list[str] = []
    monkeypatch.setattr(json, "loads", lambda text, **_: parsed.append(text))
    with pytest.raises(JsonRefused, match="nested too deeply"):
        load_json("[" * 101 + "]" * 101)
    assert parsed == []  # the parser never saw it
    load_json('{"papers": [{"title": "[[[[ in a string ]]", "abstract": "[x"}]}')
    assert len(parsed) == 1  # brackets in strings do not count
    monkeypatch.undo()
    with pytest.raises(JsonRefused):
        load_json(DEEP_JSON)
    assert ast.dump(ast.parse("x = [1]"))  # the interpreter is well afterwards


@pytest.mark.parametrize("name", ["papers.ndjson", "papers.json"])
def test_other_json_lines_extensions(name):
    parsed = parse_papers(b'{"title": "T", "abstract": "A"}\n', name)
    assert [r.paper for r in parsed.rows] == [{"title": "T", "abstract": "A"}]


@pytest.mark.parametrize("name", ["papers.txt", "papers", "papers.xlsx"])
def test_unknown_extension(name):
    with pytest.raises(FileError, match="unknown file type"):
        parse_papers(b"title,abstract\nA,B\n", name)


def test_title_prefix_stripped():
    data = (
        b"title,abstract\n"
        b"Social media,Social media. We study it.\n"
        b"Soil,Soil pH matters.\n"
        b"Rivers,Streams and Rivers.\n"
    )
    rows = parse_papers(data, "p.csv").rows
    # Only the export's "title. " form is stripped: words the abstract shares with the title
    # at its start may be its real first sentence.
    assert [r.paper["abstract"] for r in rows] == [
        "We study it.",
        "Soil pH matters.",
        "Streams and Rivers.",
    ]


def test_title_is_not_stripped_from_the_middle_of_a_word():
    """A title that is only the start of the abstract's first word is not a title prefix."""
    assert strip_title_prefix("Social media", "Social mediation shapes news.") == (
        "Social mediation shapes news."
    )


def test_strip_title_prefix_cases():
    assert strip_title_prefix("A study", "A study. Results.") == "Results."
    assert strip_title_prefix("A study", "Results. A study.") == "Results. A study."
    assert strip_title_prefix("", "Results.") == "Results."
    assert strip_title_prefix("A study", "A study") == "A study"


@pytest.mark.parametrize("column", ["id", "EID", "doi", "external_id"])
def test_external_id_column(column):
    data = f"title,abstract,{column}\nSocial media,We study it.,2-s2.0-1\nSoil,Nitrogen.,\n"
    rows = parse_papers(data.encode(), "p.csv").rows
    assert [r.external_id for r in rows] == ["2-s2.0-1", None]


def test_id_preferred_over_eid():
    data = b"eid,title,abstract,id\ne-1,Social media,We study it.,i-1\n"
    assert parse_papers(data, "p.csv").rows[0].external_id == "i-1"


def test_short_row_gives_empty_fields_not_a_crash():
    parsed = parse_papers(b"title,abstract\nOnly a title\nSoil,Nitrogen.\n", "p.csv")
    assert [(r.line, r.paper) for r in parsed.rows] == [
        (2, {"title": "Only a title", "abstract": ""}),
        (3, {"title": "Soil", "abstract": "Nitrogen."}),
    ]


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"title,abstract\n" + b"Social media,We study it.\n" * 10)
    with pytest.raises(FileError, match=r"big\.csv is 275 bytes; the limit is 100"):
        read_papers(path, 100)
    path.write_bytes(b"title,abstract\nA,B\n")
    assert len(read_papers(path, LIMIT).rows) == 1


def test_labelled_data_reads_as_papers(data_path):
    parsed = read_papers(data_path, LIMIT)
    assert parsed.errors == []
    assert len(parsed.rows) == 3300
    first = parsed.rows[0]
    assert first.line == 2
    assert first.external_id == "2-s2.0-84888407679"
    assert first.paper["abstract"].startswith("To estimate the coverage error")
