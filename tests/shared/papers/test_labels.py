"""Labels in files: read by the one reader, a bad value a row error naming what is read."""

from __future__ import annotations

import json

import pytest

from shared.manifest import CLASS_NAMES, LabelError, label_of, parse_label
from shared.papers import parse_papers

ABSTRACT = "We study it. It matters."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("0", 0),
        (" TRUE ", 1),
        ("false", 0),
        ("Yes", 1),
        ("no", 0),
        (CLASS_NAMES[1].upper(), 1),
        (CLASS_NAMES[0], 0),
        (True, 1),
        (False, 0),
        (1, 1),
        (0.0, 0),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_labels_read(value: object, expected: int | None) -> None:
    assert parse_label(value) == expected


@pytest.mark.parametrize("value", ["2", "maybe", "computer", 2, -1, 0.5, [1], {"a": 1}])
def test_bad_labels_say_what_is_read(value: object) -> None:
    with pytest.raises(LabelError, match="give 0 or 1, true or false, yes or no"):
        parse_label(value)


def test_the_first_key_given_wins() -> None:
    assert label_of({"label": "", "class": "1", "is_computational": "no"}) == 1
    assert label_of({"is_computational": False}) == 0
    assert label_of({"title": "t"}) is None


def test_csv_label_columns_are_guessed() -> None:
    for column in ("label", "Class", "is_computational"):
        data = f"title,abstract,{column}\nA,{ABSTRACT},1\nB,{ABSTRACT},no\nC,{ABSTRACT},\n"
        parsed = parse_papers(data.encode(), "papers.csv")
        assert [r.label for r in parsed.rows] == [1, 0, None]
        assert parsed.errors == []


def test_csv_bad_labels_are_row_errors_and_the_rest_is_read() -> None:
    data = f"title,abstract,class\nA,{ABSTRACT},1\nB,{ABSTRACT},maybe\nC,{ABSTRACT},2\n"
    parsed = parse_papers(data.encode(), "papers.csv")
    assert [(r.line, r.paper["title"], r.label) for r in parsed.rows] == [(2, "A", 1)]
    assert [e.line for e in parsed.errors] == [3, 4]
    assert "'maybe' is not read" in parsed.errors[0].message
    assert "'2' is not read" in parsed.errors[1].message


def test_a_mapped_label_column() -> None:
    data = f"title,abstract,verdict,class\nA,{ABSTRACT},computational,junk\n"
    mapping = {"title": "title", "abstract": "abstract", "id": None, "label": "verdict"}
    parsed = parse_papers(data.encode(), "papers.csv", mapping)
    assert [r.label for r in parsed.rows] == [1]
    unmapped = {**mapping, "label": None}
    assert [r.label for r in parse_papers(data.encode(), "papers.csv", unmapped).rows] == [None]


def test_jsonl_labels_and_bad_ones() -> None:
    lines = [
        {"title": "A", "abstract": ABSTRACT, "label": 1},
        {"title": "B", "abstract": ABSTRACT, "class": "not computational"},
        {"title": "C", "abstract": ABSTRACT, "is_computational": True},
        {"title": "D", "abstract": ABSTRACT, "label": 3},
        {"title": "E", "abstract": ABSTRACT},
    ]
    parsed = parse_papers("\n".join(map(json.dumps, lines)).encode(), "papers.jsonl")
    assert [(r.paper["title"], r.label) for r in parsed.rows] == [
        ("A", 1),
        ("B", 0),
        ("C", 1),
        ("E", None),
    ]
    assert [e.line for e in parsed.errors] == [4]
    assert "label 3 is not read" in parsed.errors[0].message


def test_bibtex_labels() -> None:
    data = (
        "@article{a, title={A}, abstract={We study it.}, label={yes}}\n"
        "@article{b, title={B}, abstract={We study it.}, class={perhaps}}\n"
    )
    parsed = parse_papers(data.encode(), "refs.bib")
    assert [(r.external_id, r.label) for r in parsed.rows] == [("a", 1)]
    assert [e.line for e in parsed.errors] == [2]


def test_rows_carry_their_label_into_a_submission() -> None:
    parsed = parse_papers(f"title,abstract,label,id\nA,{ABSTRACT},1,x\n".encode(), "p.csv")
    assert parsed.rows[0].as_paper() == {"title": "A", "abstract": ABSTRACT, "id": "x", "label": 1}
