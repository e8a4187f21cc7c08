"""Placeholders and publisher lines: what each rule removes, and near misses it must keep.

The examples marked "labelled" are copied from labelled-papers.csv."""

from __future__ import annotations

import pytest

from shared.boilerplate import RULES, match_rule, strip_boilerplate

PLACEHOLDERS = [
    "[No abstract available]",  # labelled, 308 times
    "No abstract available",
    "no abstract available.",
    "[Abstract not available]",
    "Abstract not available",
    "N/A",
    "n/a",
    "[No title available]",
]
TAILS = {
    "Copyright 2013 ACM.": "copyright",  # labelled
    "Copyright": "copyright",  # labelled: the export cut the notice after its first word
    "Crown Copyright": "copyright",  # labelled
    "Copyright is held by the International World Wide Web Conference Committee (IW3C2).": (
        "copyright"  # labelled
    ),
    "Copyright 2011 by the American Psychological Association.": "copyright",  # labelled
    "Copyright, 1998, by the President and Fellows of Harvard College.": "copyright",  # labelled
    "(PsycINFO Database Record (c) 2006 APA, all rights reserved).": "psycinfo",  # labelled
    "PsycINFO Database Record (c) 2007 APA, all rights reserved.": "psycinfo",  # labelled
    "(34 ref)": "reference_count",  # labelled
    "Copyright of the Academy of Management, all rights reserved.": "rights_reserved",
    "(c) 2016 Elsevier Ltd. All rights reserved.": "copyright",
    "Copyright © 2015 John Wiley & Sons, Ltd.": "copyright",
    "© The Author(s) 2019": "copyright",
    "Published by Elsevier Ltd.": "published_by",
    "Published by Oxford University Press on behalf of the Society.": "published_by",
    "2016 Elsevier Ltd.": "publisher",
    "The Author(s) 2019.": "publisher",
    "Taylor & Francis Group, LLC.": "publisher",
}
NEAR_MISSES = [
    "Copyright law protects creators.",
    "Copyright is a bundle of exclusive rights.",
    "Copyright infringement online is common.",
    "Published by the government in 2010, the report was ignored.",
    "The authors analysed data from 1990 to 2010.",  # "The Authors" + a year, but a sentence
    "The authors discuss implications of this work for theory and practice.",  # labelled
    "New York: Academic Press].",  # labelled, the end of a citation
    "Springer and colleagues argue otherwise.",
]


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_placeholder_is_the_whole_field(text: str):
    assert strip_boilerplate(text) == ("", [("placeholder", text)])


def test_placeholder_words_inside_a_sentence_are_kept():
    text = "Graphical abstract: [Figure not available: see fulltext.] We study it."  # labelled
    assert strip_boilerplate(text) == (text, [])


@pytest.mark.parametrize(("sentence", "rule"), TAILS.items())
def test_tail_rules(sentence: str, rule: str):
    assert match_rule(sentence, "tail") == rule
    clean, removed = strip_boilerplate(f"We study it. {sentence}")
    # The splitter cuts "Copyright © 2015 ..." before the ©: both pieces go.
    assert clean == "We study it."
    assert {name for name, _ in removed} == {rule}
    assert " ".join(text for _, text in removed) == sentence


@pytest.mark.parametrize("sentence", NEAR_MISSES)
def test_near_misses_are_kept(sentence: str):
    assert match_rule(sentence, "tail") is None
    assert strip_boilerplate(f"We study it. {sentence}")[1] == []


def test_several_trailing_lines_go_in_reading_order():
    text = (
        "Implications are discussed. (34 ref) "  # labelled
        "(PsycINFO Database Record (c) 2006 APA, all rights reserved)."
    )
    clean, removed = strip_boilerplate(text)
    assert clean == "Implications are discussed."
    assert removed == [
        ("reference_count", "(34 ref)"),
        ("psycinfo", "(PsycINFO Database Record (c) 2006 APA, all rights reserved)."),
    ]


def test_only_the_end_is_stripped():
    text = "Copyright 2013 ACM. We study copyright notices. They matter."
    assert strip_boilerplate(text) == (text, [])


def test_rule_names_are_unique():
    assert len({r.name for r in RULES}) == len(RULES)
