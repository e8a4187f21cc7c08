"""Tokenising and sentence splitting, with no downloads and no torch; and text made safe
to store (no NUL) or to open in a spreadsheet (no formulas)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence

# Letters and digits, keeping inner hyphens and apostrophes ("peer-to-peer", "don't"),
# the way the word2vec vocabulary is built.
_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")  # noqa: RUF001


# PostgreSQL text cannot hold U+0000 (psycopg raises DataError), so any field that may reach
# a query is refused with this sentence before one is sent; SQLite would store it silently.
NUL = "\x00"


def nul_message(name: str) -> str:
    """The error for a field ``name`` holding a NUL character."""
    return f"{name} contains a NUL character (\\0), which cannot be stored: remove it"


def words(text: str) -> list[str]:
    """The words of ``text`` as written (case kept); ``tokenize`` is these, lower-cased."""
    return _TOKEN.findall(text)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``: the model's vocabulary keys."""
    return [w.lower() for w in words(text)]


# --- Sentence splitting -------------------------------------------------------------------
#
# Heuristics, tuned on the 3,300 abstracts of labelled-papers.csv:
# * A candidate break is ".", "!", "?" (or a run of them), optionally followed by closing
#   quotes/brackets, then whitespace.  The break goes after the closers, so `end." Next` and
#   `(see above.) Next` keep their closer.
# * We never break before a lowercase letter, a dash (bylines such as "-Authors" stay attached
#   to the last sentence), a citation "[5]", or an enumeration marker "(a)", "(ii)", "1)".
# * "?" and "!" end a sentence before a capital ("Yahoo!" excepted).  A sentence may open with
#   a number ("experiences. 69,363 of health questions"), but not after an abbreviation or a
#   capitalised word ("Fig. 2", "No. 3", "et al. (2002)", "U.S. 1996", "Phys. 99").
# * Titles and Latin abbreviations (Dr., St., e.g., i.e., vs., cf., approx.) never end a
#   sentence; "Fig.", "No.", "p." never do before a number.
# * Initials ("J.", "A. B."), dotted abbreviations ("U.S.", "U.K.") and "et al." end a sentence
#   only when the next word is a common sentence opener ("We", "The", "Results"), because a
#   capitalised word after them is usually a surname or proper noun ("J. Smith", "U.S. Senate").
# * "etc.", "Inc.", "Ltd." end a sentence before any capital.  No break before "All rights
#   reserved", so a copyright notice stays one sentence.  Copyright openers ("©",
#   "(PsycINFO Database Record", "(c) 2015" after a full stop) always start a new sentence.
# * A missing space after a full stop ("findings.We", "1995).The") is a break when a lowercase
#   word or ")" precedes and a capitalised word follows, unless the token is a URL or domain
#   ("www.Facebook.com").

# Curly quotes are written as escapes: "\u201c\u201d" double, "\u2018\u2019" single.
_CLOSERS = ")]\"'\u201d\u2019"
_OPENERS = "([\"'\u201c\u2018"
_CANDIDATE = re.compile(
    r"(?<!\S)(?P<left>\S*?)(?P<term>[.!?\u2026]+)"
    r"(?P<close>\s?[)\]\"'\u201d\u2019]+(?=\s)|[)\]\"'\u201d\u2019]*)\s+(?=\S)"
)
_GLUED = re.compile(r"(?<=[a-z0-9][a-z]|\w\))\.(?=[A-Z][a-z]+(?![.\w]))")
_ENUM = re.compile(r"\(?(?:\d{1,2}|[A-Za-z]|[ivxIVX]{2,5})\)(?=[\s,.;:]|$)")
_COPYRIGHT_AFTER_STOP = re.compile(r"©|\(c\)\s*\d{4}|&?copy;|copyright\b", re.IGNORECASE)
_COPYRIGHT_ANYWHERE = re.compile(r"(?<=\s)(?:©|\(PsycINFO Database Record)")


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


_NO_BREAK_AFTER = _words(
    "dr mr mrs ms prof st mt gen gov sen rep rev hon capt col lt sgt "
    "e.g i.e vs v cf approx ca viz resp esp incl ed eds dept univ"
)
_NO_BREAK_BEFORE_NUMBER = _words(
    "no nos p pp vol vols fig figs eq eqs exp expt ref refs ch chap sec sect tab art para"
)
_MAY_END = _words("etc inc ltd co corp bros llc")
_NAME_LIKE = _words("al jr sr jan feb mar apr jun jul aug sep sept oct nov dec")
_OPENER_WORDS = _words(
    """
    A About According Accordingly Additionally After Against Albeit All Also Although Among An
    Analyses Analysis And Another Any Are As At Background Based Because Before Besides Both But
    By Can Compared Conclusion Conclusions Consequently Consistent Contrary Copyright Data Design
    Despite Discussion Do Does During Each Even Evidence Experiment Experiments Finally Findings
    First Firstly Following For Four Fourth From Further Furthermore Given Hence Here However How
    I If Implications Importantly In Indeed Instead Interestingly Is It Its Lastly Likewise Many
    Meanwhile Method Methods Moreover Most My No Nevertheless Next Nonetheless Not Notably Now
    Objective Objectives Of On One Only Or Other Our Overall Participants Previous Prior Purpose
    Rather Recent Recently Research Results Second Secondly Several Similarly Since So Some
    Specifically Such That The Their Then There Therefore These They Third This Those Though
    Three Through Thus To Together Two Under Unlike Using We What When Whereas Whether Which
    While Who Why With Within Yet
    """
)


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences: stripped substrings of ``text``, in order, never empty.

    Heuristics and the choices for bylines, copyright notices and missing spaces are listed
    in the comment block above.
    """
    cuts = sorted(
        {m.end("close") for m in _CANDIDATE.finditer(text) if _is_break(text, m)}
        | {m.end() for m in _GLUED.finditer(text) if _is_glued_break(text, m.start())}
        | {m.start() for m in _COPYRIGHT_ANYWHERE.finditer(text)}
    )
    pieces = (text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True))
    return [p for p in pieces if p]


def _is_break(text: str, m: re.Match[str]) -> bool:
    """Whether the terminator matched by ``_CANDIDATE`` ends a sentence."""
    pos = m.end()
    if _COPYRIGHT_AFTER_STOP.match(text, pos):
        return True
    if _ENUM.match(text, pos) or not _starts_like_sentence(text, pos):
        return False
    if text.startswith("All rights reserved", pos):
        return False  # "Elsevier Ltd. All rights reserved." is one copyright notice
    term, left = m["term"], m["left"]
    if term in "!?" and left.lower().lstrip(_OPENERS) == "yahoo":
        return False  # "Yahoo! Answers" is a product name, not an exclamation.
    if term != "." or m["close"]:
        return True
    return _word_ends_sentence(left, text, pos)


def _starts_like_sentence(text: str, pos: int) -> bool:
    """A sentence opens with a capital or a digit, possibly behind opening quotes/brackets."""
    if text.startswith(("[", "(["), pos):
        return False  # citation markers such as "et al. [5]" continue the sentence
    i = pos
    while i < len(text) and text[i] in _OPENERS:
        i += 1
    return i < len(text) and (text[i].isupper() or text[i].isdigit())


def _word_ends_sentence(left: str, text: str, pos: int) -> bool:
    """Decide a "word. Next" candidate from the word before the full stop."""
    if not left:
        return True  # a stray " . " between two sentences
    word = left.lstrip(_OPENERS)
    if not word or word[-1] in "=,;:(-/&<>":
        return False  # "N=. 112", "(. N", "employees,..": not a word ending a sentence
    lower = word.lower()
    if text[pos].isdigit() or text.startswith("(", pos):
        return _ends_before_number(word, lower)
    if lower in _NO_BREAK_AFTER:
        return False
    if lower in _MAY_END:
        return True
    if left.startswith("(") and _ENUM.fullmatch(left):
        return False  # "(1). Dependency mediates": the stop belongs to the list label
    if lower in _NAME_LIKE or _is_initial_like(word):
        return _next_word(text, pos) in _OPENER_WORDS
    return True


def _ends_before_number(word: str, lower: str) -> bool:
    """Before a number or "(": "Fig. 2", "et al. (2002)", "U.S. 1996" and "Phys. 99" go on."""
    if lower in _NO_BREAK_AFTER or lower in _NO_BREAK_BEFORE_NUMBER or lower in _NAME_LIKE:
        return False
    return not (
        _is_initial_like(word) or word[0].isupper() or "://" in word or lower.startswith("www.")
    )


def _is_initial_like(word: str) -> bool:
    """A single letter ("J", "B") or dotted letters ("U.S", "Ph.D"): initials, abbreviations."""
    parts = word.split(".")
    return len(parts[0]) == 1 and all(0 < len(p) <= 2 and p.isalpha() for p in parts)


def _next_word(text: str, pos: int) -> str:
    """The word starting at ``pos``, without opening quotes or trailing punctuation.

    A single letter keeps its full stop, so the initial "A." in "C. A. Anderson" is not
    mistaken for the article "A".
    """
    end = pos
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[pos:end].lstrip(_OPENERS).rstrip(",;:!?" + _CLOSERS)
    return word if len(word) <= 2 else word.rstrip(".")


def _is_glued_break(text: str, dot: int) -> bool:
    """A full stop with no space after it ("findings.We") that still ends a sentence."""
    start = dot
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    token = text[start:dot]
    if "://" in token or token.lower().startswith("www") or "@" in token:
        return False
    word = re.split(r"[^A-Za-z.]", token)[-1].lower()
    return word not in _NO_BREAK_AFTER and word not in _MAY_END


def strip_title_prefix(title: str, abstract: str) -> str:
    """Scopus exports start every abstract with its title and '. '; the model must not read it."""
    # Only the exact export form: a title that merely shares the abstract's first words stays.
    prefix = title + ". "
    if title and abstract.startswith(prefix):
        return abstract[len(prefix) :].lstrip()
    return abstract


# --- CSV cells ----------------------------------------------------------------------------
#
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV
# injection"): a paper titled =HYPERLINK(...) would become a link in a downloaded grid.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value: object) -> object:
    """``value`` with a ``'`` before it when a spreadsheet would read it as a formula; a
    number (or text that is one, like ``-0.25``) is left as it is, to stay a number."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    return value if _NUMBER.fullmatch(value) else "'" + value


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """``rows`` as CSV text with "\\n" line ends, every cell passed through
    :func:`spreadsheet_safe`: the one writer of every CSV the product exports."""
    lines = _Lines()
    # csv quotes a cell holding a character of the line terminator, so "\r\n" gets a cell
    # with a bare "\r" quoted (with "\n" it would split the row); _Lines ends lines "\n".
    writer = csv.writer(lines, lineterminator="\r\n")
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return "".join(lines)


class _Lines(list[str]):
    def write(self, record: str) -> None:  # csv.writer writes each row in one call
        self.append(record.removesuffix("\r\n") + "\n")
