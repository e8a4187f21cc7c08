"""BibTeX uploads (shared.papers.bibtex, reached through shared.papers.parse_papers):
entries with abstracts become papers; every problem is located by the entry's line and key."""

from __future__ import annotations

import tracemalloc

import pytest

from shared.papers import FileError, parse_papers
from shared.papers.bibtex import MAX_VALUE_CHARS, latex_to_text
from tests.fixtures.hostile import BIB_BOMB

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


def test_macro_bomb_is_refused_before_it_expands() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(FileError) as refused:
            parse_papers(BIB_BOMB, "bomb.bib")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # m18 is the first macro past a million characters (9 * 2**17); nothing bigger is built.
    assert str(refused.value).startswith("line 18: @string m18 expands past 1,000,000 characters")
    assert "shorten its @string macros" in str(refused.value)
    assert peak < 8 * MAX_VALUE_CHARS


def test_macro_over_the_cap_names_the_entry_and_field() -> None:
    big = "x" * (MAX_VALUE_CHARS // 2 + 1)
    data = f'@string{{half = "{big}"}}\n@article{{k1, title = half # half, abstract={{x}}}}'
    with pytest.raises(FileError, match=r"^line 2: entry k1, field title expands past 1,000,000"):
        parse_papers(data.encode(), "big.bib")


def test_values_of_the_whole_file_share_one_budget() -> None:
    big = "x" * (MAX_VALUE_CHARS - 10)
    lines = [f'@string{{big = "{big}"}}'] + [f"@string{{c{n} = big}}" for n in range(40)]
    with pytest.raises(FileError, match=r"^line 33: @string c31 expands past 32,000,000 chara"):
        parse_papers("\n".join(lines).encode(), "many.bib")
    lines[-9:] = []  # 32 copies and the original: under the file's budget, read as usual
    assert parse_papers("\n".join(lines).encode(), "many.bib").errors == []
