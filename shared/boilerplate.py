"""Text that is not the paper's: placeholders for a missing field, and the publisher lines
that bibliographic exports append to an abstract. ``split_units`` leaves both out by default.

Every rule is a row of :data:`RULES`, named so a result can say which one fired. A field
rule must match the whole field; a tail rule matches one sentence and is tried only on the
field's last sentences, from the end, so a sentence that merely mentions copyright law in
the middle of an abstract is never touched. Tuned on the 3,300 abstracts of
labelled-papers.csv (``bench/boilerplate_report.py`` counts what each rule removes there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shared.text import split_sentences

Where = Literal["field", "tail"]

_YEAR = r"(?:19|20)\d{2}"
# Publishers whose name, with a year or a company suffix, is a whole sentence in exports.
_PUBLISHER = (
    r"(?:Elsevier|John\s+Wiley\s+&\s+Sons|Wiley(?:-[A-Z]\w+)?|Springer(?:[- ][A-Z]\w+)*"
    r"|Taylor\s+&\s+Francis|SAGE(?:\s+Publications)?|Emerald|Informa\s+UK|ACM|IEEE"
    r"|(?:Oxford|Cambridge)\s+University\s+Press|The\s+Author(?:\(s\)|s)?)"
)


@dataclass(frozen=True)
class Rule:
    name: str
    where: Where
    pattern: re.Pattern[str]
    description: str


def _rule(name: str, where: Where, pattern: str, description: str) -> Rule:
    return Rule(name, where, re.compile(pattern, re.IGNORECASE | re.VERBOSE), description)


RULES: tuple[Rule, ...] = (
    _rule(
        "placeholder",
        "field",
        r"""^\W*(?:no\s+(?:abstract|title|summary)(?:\s+(?:is\s+)?available)?
        |(?:(?:abstract|title|summary)\s+)?(?:is\s+)?not\s+available|n\s*/\s*a|none)\W*$""",
        'a field that is only "[No abstract available]", "Abstract not available", "N/A"',
    ),
    _rule(
        "psycinfo",
        "tail",
        r"^\(?PsycINFO\s+Database\s+Record\b",
        'the APA database line "(PsycINFO Database Record (c) 2006 APA, all rights reserved)"',
    ),
    _rule(
        "copyright",
        "tail",
        rf"""^(?:crown\s+)?(?:©|&copy;|\(c\)\s*{_YEAR}|copyright(?:\W*$|\s*(?:©|&copy;|\(c\))
        |,?\s+{_YEAR}\b|\s+(?:is\s+)?held\b|\s+by\s+(?:the\b|(?-i:[A-Z]))))""",
        'a notice opening with ©, "(c) 2016" or "Copyright" (alone, or with a year, ©, '
        '"is held", "by the"): not "Copyright law ..." nor "Copyright is ..."',
    ),
    _rule(
        "rights_reserved",
        "tail",
        r"\ball\s+rights\s+reserved\W*$",
        'a sentence ending "All rights reserved."',
    ),
    _rule(
        "published_by",
        "tail",
        r"""^(?:this\s+article\s+is\s+)?published\s+(?:online\s+)?by
        (?:\s+(?-i:[A-Z&][\w&.,'\u2019-]*))+(?:\s+on\s+behalf\s+of\b.*)?\W*$""",
        '"Published by" and a name in capitals ("Published by Elsevier Ltd.", "... on behalf '
        'of ..."): not "Published by the government in 2010, the report ..."',
    ),
    _rule(
        "publisher",
        "tail",
        rf"""^(?=.*(?:{_YEAR}|\b(?:Ltd|Inc|B\.\s?V|GmbH|LLC|Limited)\b))
        (?:{_YEAR},?\s+)?{_PUBLISHER}(?:[\s,.]+(?:{_YEAR}|(?-i:[A-Z&][\w&.]*)))*\W*$""",
        'a publisher with a year or a company suffix: "2016 Elsevier Ltd.", "The Author(s) 2019"',
    ),
    _rule(
        "reference_count",
        "tail",
        r"^\(\d+\s+(?:p\s+)?refs?\.?\)\W*$",
        'a database\'s reference count "(34 ref)" before its record line',
    ),
)

Removed = tuple[str, str]  # (rule name, the text left out)


def match_rule(sentence: str, where: Where) -> str | None:
    """The name of the first rule of kind ``where`` that ``sentence`` matches, or None."""
    for rule in RULES:
        if rule.where == where and rule.pattern.search(sentence.strip()):
            return rule.name
    return None


def strip_boilerplate(text: str) -> tuple[str, list[Removed]]:
    """``text`` without its placeholder or trailing publisher sentences, and what was removed
    (in reading order). A field that is all boilerplate comes back as ""."""
    placeholder = match_rule(text, "field")
    if placeholder:
        return "", [(placeholder, text.strip())]
    removed: list[Removed] = []
    end = len(text)
    for sentence in reversed(split_sentences(text)):
        name = match_rule(sentence, "tail")
        if name is None:
            break
        # split_sentences returns substrings of the text in order: find this one before end.
        end = text.rindex(sentence, 0, end)
        removed.insert(0, (name, sentence))
    return text[:end].rstrip(), removed
