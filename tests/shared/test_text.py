"""Tests for ``shared.text``: the tokenizer and the sentence splitter.

Most splitter cases are snippets copied verbatim from abstracts in labelled-papers.csv; the few
patterns the corpus lacks ("Fig.", "No.", "cf.", "approx.", "©") are marked as made up.
"""

from __future__ import annotations

import csv
import io
import re
from itertools import pairwise
from pathlib import Path

import pytest

from shared.text import csv_text, split_sentences, spreadsheet_safe, tokenize

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "labelled-papers.csv"


# --- tokenize ------------------------------------------------------------------------------


def test_tokenize_lower_cases_and_drops_punctuation() -> None:
    assert tokenize("Internet Coverage, in Europe: 2013!") == [
        "internet",
        "coverage",
        "in",
        "europe",
        "2013",
    ]


def test_tokenize_keeps_inner_hyphens_and_apostrophes() -> None:
    text = "peer-to-peer learners don't share the countries' data"
    assert tokenize(text) == [
        "peer-to-peer",
        "learners",
        "don't",
        "share",
        "the",
        "countries",
        "data",
    ]


def test_tokenize_keeps_curly_apostrophe_and_drops_edge_hyphens() -> None:
    assert tokenize("the user\u2019s -well- being") == ["the", "user\u2019s", "well", "being"]


def test_tokenize_keeps_unicode_letters() -> None:
    assert tokenize("naïve Bayesian, Pólos et al., Bösch β") == [
        "naïve",
        "bayesian",
        "pólos",
        "et",
        "al",
        "bösch",
        "β",
    ]


def test_tokenize_splits_on_underscores_and_empty_input() -> None:
    assert tokenize("snake_case") == ["snake", "case"]
    assert tokenize("") == []


# --- split_sentences: corpus snippets ----------------------------------------------------

CASES = [
    pytest.param(
        "Then Mark Dredze and Michael J. Paul have written 'Natural Language Processing for "
        "Health and Social Media.' Next, Fatemeh 'Mariam' Zahedi",
        [
            "Then Mark Dredze and Michael J. Paul have written 'Natural Language Processing for "
            "Health and Social Media.'",
            "Next, Fatemeh 'Mariam' Zahedi",
        ],
        id="initial-J-then-closing-single-quote",
    ),
    pytest.param(
        "B. J. Bushman, M. C. Wang, and C. A. Anderson (2005) argued that a reanalysis of "
        "E. G. Cohn and J. Rotton's (1997",
        None,
        id="runs-of-initials-including-A",
    ),
    pytest.param(
        "the models of A. Thomas and S. Chess, A. H. Buss and R. Plomin, M. K. Rothbart, "
        "J. Block and J. H. Block, and the Big Five. A number of robust personality dimensions",
        [
            "the models of A. Thomas and S. Chess, A. H. Buss and R. Plomin, M. K. Rothbart, "
            "J. Block and J. H. Block, and the Big Five.",
            "A number of robust personality dimensions",
        ],
        id="initials-then-real-break-before-A",
    ),
    pytest.param(
        "The index changes our view of the growth and volatility of the U. S. economy before "
        "World War I. A direct implication of the index is that",
        [
            "The index changes our view of the growth and volatility of the U. S. economy before "
            "World War I.",
            "A direct implication of the index is that",
        ],
        id="spaced-U-S-and-roman-I-at-end",
    ),
    pytest.param(
        "Social media sites (e.g. Twitter and Pinterest) allow users to change the name of "
        "their accounts. A change in the account name",
        [
            "Social media sites (e.g. Twitter and Pinterest) allow users to change the name of "
            "their accounts.",
            "A change in the account name",
        ],
        id="e.g.-before-capital",
    ),
    pytest.param(
        "three conversation online spaces: blogs, social network sites (i.e. Facebook) and "
        "collaborative platforms (i.e. YouTube). From a critical assessment",
        [
            "three conversation online spaces: blogs, social network sites (i.e. Facebook) and "
            "collaborative platforms (i.e. YouTube).",
            "From a critical assessment",
        ],
        id="i.e.-before-capital",
    ),
    pytest.param(
        "the highly important regional scale, i. e. which concerns the power of the Warsaw "
        "Treaty states",
        None,
        id="spaced-i.-e.",
    ),
    pytest.param(
        "For example, Bond et al. [5] conducted a randomized controlled trial by delivering "
        "political mobilization messages to 61 million",
        None,
        id="et-al-before-citation",
    ),
    pytest.param(
        'the "propositional approach" proposed by Mitchell et al. The authors ignore the '
        "critical role",
        [
            'the "propositional approach" proposed by Mitchell et al.',
            "The authors ignore the critical role",
        ],
        id="et-al-ending-a-sentence",
    ),
    pytest.param(
        "actual product photographs (vs. stock photographs) generated more bidding interest. "
        "These findi",
        [
            "actual product photographs (vs. stock photographs) generated more bidding interest.",
            "These findi",
        ],
        id="vs.",
    ),
    pytest.param(
        "related to the U.S. financial crisis and also examined the temporal evolution of "
        "social sentiment (i.e., fear, shame, blame, confidence)",
        None,
        id="U.S.-before-lowercase",
    ),
    pytest.param(
        "Two 2x2 between-subject experiments were conducted with recent travelers in the U.S. "
        "Results reveal tourists' post-purchase behavioral processes",
        [
            "Two 2x2 between-subject experiments were conducted with recent travelers in the U.S.",
            "Results reveal tourists' post-purchase behavioral processes",
        ],
        id="U.S.-ending-a-sentence",
    ),
    pytest.param(
        "randomly selected followers of candidates for the U.S. House and Senate and "
        "governorships in 2010. We find that Twitter users",
        [
            "randomly selected followers of candidates for the U.S. House and Senate and "
            "governorships in 2010.",
            "We find that Twitter users",
        ],
        id="U.S.-before-proper-noun",
    ),
    pytest.param(
        "influenza-like illnesses reported by the U. S. Centers for Disease Control and "
        "Prevention (r(14) = .964, p < .001)",
        None,
        id="spaced-U.-S.-before-proper-noun",
    ),
    pytest.param(
        "using 18 years of monthly U.K. data from 1993 to 2010. The long-term price sensitivity",
        [
            "using 18 years of monthly U.K. data from 1993 to 2010.",
            "The long-term price sensitivity",
        ],
        id="U.K.",
    ),
    pytest.param(
        "figures were 3.9%-5.6% (P = .018) and 3.0%-3.3% (P = .002). Conclusions. Influenza "
        "was associated",
        [
            "figures were 3.9%-5.6% (P = .018) and 3.0%-3.3% (P = .002).",
            "Conclusions.",
            "Influenza was associated",
        ],
        id="decimals-and-bare-p-values",
    ),
    pytest.param(
        "number of online friends (β = 0.33, p < 0.05). For people using real-life portrait",
        ["number of online friends (β = 0.33, p < 0.05).", "For people using real-life portrait"],
        id="decimal-then-bracket-stop",
    ),
    pytest.param(
        "C5 makes a number of new contributions over prior work: (a) a small scale P2SP "
        "framework of a hybrid mobile network",
        None,
        id="enumeration-(a)",
    ),
    pytest.param(
        "develop a typology which distinguishes four aspects of digital social networks "
        "usage: (i) building and sustaining the network, (ii) observing the network, (iii), "
        "extracting",
        None,
        id="enumeration-(i)",
    ),
    pytest.param(
        "promote varying levels of 1) significant peer-to-peer engagement, 2) participant "
        "inclusiveness in dialogue, and ultimately, 3) modularity",
        None,
        id="enumeration-1)",
    ),
    pytest.param(
        "Three questions are addressed: (1) How do immigrant and native-born occupational "
        "distributions differ? (2) Are immigrants more occupationally mobile? and (3) How do "
        "immigrant occupations",
        None,
        id="enumerated-questions-stay-together",
    ),
    pytest.param(
        "Japan. We have obtained two results. (1) In the location estimation methods, the "
        "method that selects",
        [
            "Japan.",
            "We have obtained two results. (1) In the location estimation methods, the "
            "method that selects",
        ],
        id="no-break-before-(1)-even-after-a-stop",
    ),
    pytest.param(
        "managers communicate with each other? We examine enterprise social network (ESN) "
        "usage data",
        [
            "managers communicate with each other?",
            "We examine enterprise social network (ESN) usage data",
        ],
        id="question-mark",
    ),
    pytest.param(
        "Dow Jones Industrial Average (DJIA) get from Yahoo! Finance. Our results show",
        ["Dow Jones Industrial Average (DJIA) get from Yahoo! Finance.", "Our results show"],
        id="exclamation-in-Yahoo!",
    ),
    pytest.param(
        'compensating potential "influencers." We find that although',
        ['compensating potential "influencers."', "We find that although"],
        id="closing-double-quote",
    ),
    pytest.param(
        "political knowledge: “news-finds-me effects.” U.S. panel-survey data show",
        ["political knowledge: “news-finds-me effects.”", "U.S. panel-survey data show"],
        id="closing-curly-quote-then-U.S.",
    ),
    pytest.param(
        'spheres, which we term "contexts. " We study the robustness',
        ['spheres, which we term "contexts. "', "We study the robustness"],
        id="closing-quote-after-stray-space",
    ),
    pytest.param(
        "The cooperative component models the resulting competitive environment.) We give "
        "biform models",
        [
            "The cooperative component models the resulting competitive environment.)",
            "We give biform models",
        ],
        id="closing-bracket",
    ),
    pytest.param(
        "on their relative incomes and ages and on the level of lifetime wealth. -Authors",
        ["on their relative incomes and ages and on the level of lifetime wealth. -Authors"],
        id="byline-attached",
    ),
    pytest.param(
        "coherence than any single inner-circle sociological paradigm. -from Author",
        ["coherence than any single inner-circle sociological paradigm. -from Author"],
        id="from-author-byline-attached",
    ),
    pytest.param(
        "has a negative impact on trust and trustworthiness. Copyright 2010 Presses de "
        "Sciences Po. All rights reserved.",
        [
            "has a negative impact on trust and trustworthiness.",
            "Copyright 2010 Presses de Sciences Po. All rights reserved.",
        ],
        id="copyright-notice-one-sentence",
    ),
    pytest.param(
        "discrimination training is not sufficient to produce categorical perception. "
        "(34 ref.) (PsycINFO Database Record (c) 2006 APA, all rights reserved).",
        [
            "discrimination training is not sufficient to produce categorical perception.",
            "(34 ref.)",
            "(PsycINFO Database Record (c) 2006 APA, all rights reserved).",
        ],
        id="psycinfo-notice",
    ),
    pytest.param(
        "the proposed algorithm outperforms the state-of-the-art methods. Copyright 2013 ACM.",
        ["the proposed algorithm outperforms the state-of-the-art methods.", "Copyright 2013 ACM."],
        id="acm-copyright",
    ),
    pytest.param(
        "against expert moderated ProMED-mail postings.Results: We report sensitivity",
        ["against expert moderated ProMED-mail postings.", "Results: We report sensitivity"],
        id="missing-space-is-a-break",
    ),
    pytest.param(
        "Science of Psychology is Marcia K. Johnson.Dorothy W. Cantor, president of the APF",
        ["Science of Psychology is Marcia K. Johnson.", "Dorothy W. Cantor, president of the APF"],
        id="missing-space-after-initialled-name",
    ),
    pytest.param(
        "Setting: Two large US universities; www.Facebook.com. Participants: 307 Facebook profiles",
        [
            "Setting: Two large US universities; www.Facebook.com.",
            "Participants: 307 Facebook profiles",
        ],
        id="domain-is-not-a-missing-space",
    ),
    pytest.param(
        "implemented in BioCaster available from http://born.nii.ac.jp.Conclusions: Online "
        "health news alerts",
        None,
        id="url-glued-to-heading-left-alone",
    ),
    pytest.param(
        "acceptable to most cognitive psychologists and to some.clinicians. However, they also "
        "argue",
        [
            "acceptable to most cognitive psychologists and to some.clinicians.",
            "However, they also argue",
        ],
        id="missing-space-before-lowercase-is-not-a-break",
    ),
    pytest.param(
        "Google Trends, a Google Inc. portal, generates data on geographical and temporal patterns",
        None,
        id="Inc.-before-lowercase",
    ),
    pytest.param(
        "using geotagged tweet data between 9 a.m. and 3 p.m. on October 9, 2011, the method",
        None,
        id="a.m.-p.m.",
    ),
    pytest.param(
        "Google queries were a useful predictor of hospitalizations for methicillin-resistant "
        "S. aureus infections.",
        None,
        id="genus-initial-before-lowercase",
    ),
    pytest.param(
        "two different genres of datasets: DBLP and Last. fm. Experimental results show",
        ["two different genres of datasets: DBLP and Last. fm.", "Experimental results show"],
        id="lowercase-after-stop-is-not-a-break",
    ),
    pytest.param(
        "they obtain and share information, advice, and experiences. 69,363 of health questions",
        [
            "they obtain and share information, advice, and experiences.",
            "69,363 of health questions",
        ],
        id="sentence-starting-with-a-number",
    ),
    pytest.param(
        "on decision behavior (Hypothesis 3). These findings advance our understanding",
        ["on decision behavior (Hypothesis 3).", "These findings advance our understanding"],
        id="bracketed-number-then-stop",
    ),
    pytest.param(
        "Developed in the context of a general crowdsourcing platform, Dr. Detective is a game",
        None,
        id="Dr.",
    ),
    pytest.param(
        "14,000 tax filers in H&R Block offices in St. Louis received matches of zero",
        None,
        id="St.",
    ),
    pytest.param(
        "were instantly dubbed historical landmarks. Perry v. U.S., the case addressing federal "
        "bond contracts",
        [
            "were instantly dubbed historical landmarks.",
            "Perry v. U.S., the case addressing federal bond contracts",
        ],
        id="v.-and-U.S.,",
    ),
    # Made up: the corpus has no "Fig.", "No.", "cf.", "approx." or "©" notice.
    pytest.param(
        "Results are shown in Fig. 2 and Table No. 3 (cf. Smith 2010). Sizes were approx. "
        "Ten times larger. Done!",
        [
            "Results are shown in Fig. 2 and Table No. 3 (cf. Smith 2010).",
            "Sizes were approx. Ten times larger.",
            "Done!",
        ],
        id="made-up-Fig-No-cf-approx",
    ),
    pytest.param(
        "We discuss the results. © 2015 Elsevier Ltd. All rights reserved.",
        ["We discuss the results.", "© 2015 Elsevier Ltd. All rights reserved."],
        id="made-up-elsevier-notice",
    ),
    pytest.param(
        "We discuss the results. - Authors",
        ["We discuss the results. - Authors"],
        id="made-up-spaced-byline",
    ),
    pytest.param(
        "The sample (see above.) Next we ask whether A. B. Jones was right.",
        ["The sample (see above.)", "Next we ask whether A. B. Jones was right."],
        id="made-up-bracketed-stop-and-initials",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_split_sentences_corpus_snippets(text: str, expected: list[str] | None) -> None:
    """``None`` means the snippet is a single sentence: no break may be found in it."""
    assert split_sentences(text) == (expected if expected is not None else [text])


def test_split_sentences_empty_and_whitespace() -> None:
    assert split_sentences("") == []
    assert split_sentences("  \n ") == []


def test_split_sentences_returns_stripped_substrings_in_order() -> None:
    text = "  First one.\n\nSecond one?   Third!  "
    sentences = split_sentences(text)
    assert sentences == ["First one.", "Second one?", "Third!"]
    pos = 0
    for s in sentences:
        assert text.find(s, pos) >= pos
        pos = text.find(s, pos) + len(s)


def test_split_sentences_no_abstract_placeholder() -> None:
    assert split_sentences("[No abstract available]") == ["[No abstract available]"]


# --- split_sentences: the whole corpus -----------------------------------------------------

_ENUM_START = re.compile(r"\(?(?:\d{1,2}|[A-Za-z]|[ivxIVX]{2,5})\)(?=\s|$)")
_COPYRIGHT_START = re.compile(r"\(c\)\s*\d{4}")
_DOTTED_END = re.compile(r"(?:^|[\s(\[])(?:[A-Za-z]\.\s?){2,}$")
_INITIAL_END = re.compile(r"(?:^|[\s(\[])[A-Z]\.$")
_NEVER_END = re.compile(r"(?:^|[\s(])(?:e\.g|i\.e|vs|cf|approx|viz|Dr|Mrs?|Ms|Prof|St)\.$")
# An author-initial run: "J. Smith", "A. B. Jones" (initials, then a capitalised word).
_AUTHOR_INITIALS = re.compile(r"\b(?:[A-Z]\. )+([A-Z][a-z]+)\b")


def _load_abstracts() -> list[str]:
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS} (it lives outside the repository)")
    with CORPUS.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        r["abstract"][len(r["title"]) + 2 :]
        if r["abstract"].startswith(r["title"])
        else r["abstract"]
        for r in rows
    ]


def _false_breaks(prev: str, nxt: str, proper_nouns: set[str]) -> list[str]:
    """Reasons why a break between ``prev`` and ``nxt`` is wrong (empty when it looks right)."""
    reasons = []
    first = re.match(r"[\"'(\u201c]*([A-Za-z]+)", nxt)
    first_word = first[1] if first else ""
    if _DOTTED_END.search(prev) and nxt[:1].islower():
        reasons.append("dotted abbreviation before a lowercase word")
    if _NEVER_END.search(prev):
        reasons.append("abbreviation that never ends a sentence")
    if _INITIAL_END.search(prev) and (nxt[:1].islower() or first_word in proper_nouns):
        reasons.append("author initial before a surname")
    if _ENUM_START.match(nxt) and not _COPYRIGHT_START.match(nxt):
        reasons.append("enumeration marker starts a sentence")
    return reasons


@pytest.mark.slow
def test_split_sentences_whole_corpus() -> None:
    abstracts = _load_abstracts()
    assert len(abstracts) == 3300
    lowercase = {w for a in abstracts for w in re.findall(r"\b[a-z]+\b", a)}
    # Surname-like: follows an author-initial run somewhere and is never written in lowercase.
    proper_nouns = {
        m[1]
        for a in abstracts
        for m in _AUTHOR_INITIALS.finditer(a)
        if m[1].lower() not in lowercase
    }
    assert {"Paul", "Thomas", "Tryon"} <= proper_nouns  # the check is not vacuous
    problems = []
    for i, abstract in enumerate(abstracts):
        sentences = split_sentences(abstract)
        assert all(s and s == s.strip() for s in sentences)
        assert re.sub(r"\s", "", "".join(sentences)) == re.sub(r"\s", "", abstract), i
        for prev, nxt in pairwise(sentences):
            problems += [
                f"{i}: {why}: {prev[-30:]!r} | {nxt[:30]!r}"
                for why in _false_breaks(prev, nxt, proper_nouns)
            ]
    assert problems == []


def test_false_break_checker_catches_naive_splits() -> None:
    """The corpus checks must fail on a splitter that breaks after "J." and before "(b)"."""
    nouns = {"Paul"}
    assert _false_breaks("Michael J.", "Paul have written", nouns)
    assert _false_breaks("related to the U.S.", "financial crisis", nouns)
    assert _false_breaks("sites (e.g.", "Twitter and Pinterest)", nouns)
    assert _false_breaks("prior work: (a) a framework;", "(b) support of MAC layer", nouns)
    assert _false_breaks("varying levels of", "1) significant engagement", nouns)
    assert not _false_breaks("travelers in the U.S.", "Results reveal", nouns)
    assert not _false_breaks("before World War I.", "A direct implication", nouns)
    assert not _false_breaks("the results.", "(c) 2015 Elsevier Ltd.", nouns)


# --- CSV cells ----------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+2", "-1+2", "\tlead", "\rlead", "-"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_cells_a_spreadsheet_would_run_get_a_quote(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-0.25", "+3", "1e-5", "-.5", 0.25, -7, "plain", "a=b", ""])
def test_numbers_and_plain_text_stay_as_they_are(cell: object) -> None:
    assert spreadsheet_safe(cell) == cell


def test_csv_text_escapes_every_cell_and_reads_back() -> None:
    rows = [["id", "label", "p"], ["@SUM(A1)", '=HYPERLINK("http://x","y")', "-0.250000"]]
    text = csv_text(rows)
    assert list(csv.reader(text.splitlines())) == [
        ["id", "label", "p"],
        ["'@SUM(A1)", '\'=HYPERLINK("http://x","y")', "-0.250000"],
    ]


def test_csv_text_quotes_a_carriage_return_so_rows_stay_whole() -> None:
    text = csv_text([["a", "\rlead", "x\ry"], ["b", "c\nd", "e"]])
    assert text == """a,"'\rlead","x\ry"\nb,"c\nd",e\n"""
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["a", "'\rlead", "x\ry"], ["b", "c\nd", "e"],
    ]  # fmt: skip
