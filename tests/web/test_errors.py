"""Messages from ``shared`` shown on pages as sentences."""

from __future__ import annotations

import pytest

from web.errors import sentence


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("the team name is empty", "The team name is empty."),
        (
            "'Owner' is not a role: use owner or member",
            "'Owner' is not a role: use owner or member.",
        ),
        ("PubMed export has no PMID column", "PubMed export has no PMID column."),
        ("title is empty: give the paper's title.", "Title is empty: give the paper's title."),
        ("", "."),
    ],
)
def test_sentence_raises_only_the_first_letter(message: str, expected: str) -> None:
    assert sentence(message) == expected
