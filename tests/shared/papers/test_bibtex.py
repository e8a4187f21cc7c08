"""BibTeX uploads (shared.papers.bibtex, reached through shared.papers.parse_papers):
entries with abstracts become papers; every problem is located by the entry's line and key."""

from __future__ import annotations

import pytest

from shared.papers import FileError, parse_papers
from shared.papers.bibtex import latex_to_text

BIB = r"""% exported by a reference manager
@string{jnl = "Journal of Things"}

@Article{smith2020,
  TITLE = {Social {M}edia and the {\"O}ffentlichkeit},
  Abstract = "We study {nested {braces}}
              over two lines.",
  journal = jnl # " 2",
  year = 2020,
}
@comment{an @article{ignored, title={x}} inside a comment}
@inproceedings(jones, title="Soil", abstract={Nitrogen {matters}.})
"""


def test_entries_become_papers_with_line_and_key() -> None:
    parsed = parse_papers(BIB.encode(), "refs.bib")
    assert parsed.errors == []
    assert [(r.line, r.external_id, r.paper) for r in parsed.rows] == [
        (4, "smith2020", {"title": "Social Media and the Öffentlichkeit",
                          "abstract": "We study nested braces over two lines."}),
        (12, "jones", {"title": "Soil", "abstract": "Nitrogen matters."}),
    ]  # fmt: skip


def test_entry_without_abstract_names_its_line_and_key() -> None:
    data = b"@article{a, title={A}, abstract={B}}\n@book{b2,\n  title = {Trees}\n}\n"
    parsed = parse_papers(data, "refs.BIB")
    assert [r.external_id for r in parsed.rows] == ["a"]
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 2
    assert "entry b2 has no abstract" in parsed.errors[0].message


def test_syntax_error_is_located_and_parsing_resumes() -> None:
    data = (
        b"@article{ok, title={A}, abstract={B}}\n"
        b"@article{broken, title={Unclosed,\n"
        b"  abstract={x}\n"
        b"@article{after, title = {C}, abstract = {D}}\n"
    )
    parsed = parse_papers(data, "refs.bib")
    assert [r.external_id for r in parsed.rows] == ["ok", "after"]
    assert [(e.line, e.message.split(":")[0]) for e in parsed.errors] == [(2, "entry broken")]
    missing_comma = parse_papers(b"@article{k, title={A} abstract={B}}\n", "x.bib")
    assert "expected ',' or '}' after title" in missing_comma.errors[0].message


def test_quotes_may_hold_braces_and_values_concatenate() -> None:
    data = b'@misc{q, title = "A {"}quoted{"} word" # { and more}, abstract = "x"}'
    (row,) = parse_papers(data, "q.bib").rows
    assert row.paper["title"] == 'A "quoted" word and more'


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"Caf\'e, na\"{\i}ve, \v{c}asopis, \c c", "Café, naïve, časopis, ç"),
        (r"\emph{Deep} \textbf{learning}", "Deep learning"),
        (r"50\% of A \& B cost \$5 in {\{}braces\}", "50% of A & B cost $5 in {braces}"),
        (r"Stra{\ss}e and \o{} -- pages---all", "Straße and ø \u2013 pages\u2014all"),
        (r"$\alpha$-helix~structure, $\Gamma$", "\u03b1-helix structure, \u0393"),
    ],
)
def test_latex_markup_becomes_plain_text(latex: str, text: str) -> None:
    assert latex_to_text(latex) == text


def test_undecodable_bib_names_the_line() -> None:
    with pytest.raises(FileError, match=r"refs\.bib, line 2: byte 0xe9"):
        parse_papers(b"@article{a,\n title={Caf\xe9}}", "refs.bib")
