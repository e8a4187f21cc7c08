"""Compare sentence splitters on the labelled abstracts: false breaks and speed.

Run from the repository root: ``.venv/bin/python bench/splitter_compare.py``.

Counted per splitter, over every abstract (title prefix removed):

* abbreviation breaks: a sentence ends in an initial ("J."), a dotted abbreviation ("U.S.",
  "U. S.") or a listed abbreviation ("e.g.", "et al.", "vs.", "Fig.", "Dr.") and the next
  sentence starts with a lowercase letter, a digit or a citation ("[5]", "(2002)"); or the
  abbreviation never ends a sentence ("e.g.", "vs.", "Dr."); or it is an initial/"et al." and
  the next sentence opens with a proper noun, i.e. a capitalised word never seen in lowercase
  anywhere in the corpus ("J. | Paul", "A. | Thomas"). The last test uses corpus statistics,
  not the splitter's own opener list, so it is an independent check.
* enumeration breaks: the next sentence starts with "(a)", "(ii)", "1)", "(1)" (a "(c) 2015"
  copyright notice is not an enumeration).
* missed breaks (sanity check that a splitter is not simply refusing to split): a sentence
  contains "word. The", "word. We", ... with a lowercase word of 3+ letters before the stop.
"""

from __future__ import annotations

import argparse
import csv
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from shared.text import split_sentences

DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/labelled-papers.csv"

_ABBREV_END = re.compile(
    r"(?:^|[\s(\[])(?P<abbr>(?:[A-Za-z]\.\s?){2,}|[A-Z]\.|et al\.|e\.g\.|i\.e\.|vs?\.|cf\."
    r"|approx\.|ca\.|viz\.|Figs?\.|Nos?\.|pp?\.|Dr\.|Mrs?\.|Ms\.|Prof\.|St\.|Jr\.)$"
)
_NEVER_END = re.compile(
    r"e\.g\.|i\.e\.|vs?\.|cf\.|approx\.|ca\.|viz\.|Dr\.|Mrs?\.|Ms\.|Prof\.|St\."
)
_CONTINUATION = re.compile(r"[a-z0-9\[]|\(\d")
_ENUM_START = re.compile(r"\(?(?:\d{1,2}|[A-Za-z]|[ivxIVX]{2,5})\)(?=\s|$)")
_COPYRIGHT = re.compile(r"\(c\)\s*\d{4}")
_MISSED = re.compile(
    r"\b[a-z]{3,}[.?!][\"')\u201d]*\s+(?:The|We|This|These|Our|In|It|However|Results)\s"
)
_FIRST_WORD = re.compile(r"[\"'(\u201c]*([A-Z][A-Za-z'-]*)")


def naive_split(text: str) -> list[str]:
    """Split after . ! ? followed by whitespace and a capital letter."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip())
    return [p.strip() for p in parts if p.strip()]


def load_abstracts(path: Path) -> list[str]:
    """Abstracts with their "Title. " prefix removed."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        abstract, title = row["abstract"], row["title"]
        if abstract.startswith(title):
            abstract = abstract[len(title) + 2 :]
        out.append(abstract)
    return out


def lowercase_vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Words seen in lowercase somewhere: capitalised words outside it are proper nouns."""
    return frozenset(w for t in texts for w in re.findall(r"\b[a-z][a-z'-]*\b", t))


def is_abbreviation_break(prev: str, nxt: str, vocab: frozenset[str]) -> bool:
    """Whether splitting between ``prev`` and ``nxt`` broke after an abbreviation/initial."""
    m = _ABBREV_END.search(prev)
    if not m:
        return False
    abbr = m["abbr"]
    if _CONTINUATION.match(nxt) or _NEVER_END.fullmatch(abbr):
        return True
    first = _FIRST_WORD.match(nxt)
    proper_noun = first is not None and first[1].lower() not in vocab
    return proper_noun and (abbr == "et al." or re.fullmatch(r"(?:[A-Z]\.\s?)+", abbr) is not None)


def is_enumeration_break(nxt: str) -> bool:
    return bool(_ENUM_START.match(nxt)) and not _COPYRIGHT.match(nxt)


@dataclass
class Score:
    name: str
    seconds: float = 0.0
    sentences: int = 0
    abbrev_breaks: int = 0
    abbrev_abstracts: int = 0
    enum_breaks: int = 0
    enum_abstracts: int = 0
    missed: int = 0


def score(
    name: str, split: Callable[[str], list[str]], texts: list[str], vocab: frozenset[str]
) -> Score:
    start = time.perf_counter()
    results = [split(t) for t in texts]
    s = Score(name, seconds=time.perf_counter() - start)
    for sents in results:
        s.sentences += len(sents)
        pairs = list(pairwise(sents))
        abbrev = sum(is_abbreviation_break(a, b, vocab) for a, b in pairs)
        enum = sum(is_enumeration_break(b) for _, b in pairs)
        s.abbrev_breaks += abbrev
        s.abbrev_abstracts += abbrev > 0
        s.enum_breaks += enum
        s.enum_abstracts += enum > 0
        s.missed += sum(len(_MISSED.findall(x)) for x in sents)
    return s


def pysbd_splitter() -> Callable[[str], list[str]] | None:
    try:
        import pysbd
    except ImportError:
        return None
    seg = pysbd.Segmenter(language="en", clean=False)

    def split(text: str) -> list[str]:
        return [x.strip() for x in seg.segment(text) if x.strip()]

    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--no-pysbd", action="store_true", help="skip pysbd (slow)")
    args = parser.parse_args()
    texts = load_abstracts(args.csv)
    vocab = lowercase_vocabulary(texts)
    splitters: list[tuple[str, Callable[[str], list[str]] | None]] = [
        ("naive regex", naive_split),
        ("pysbd", None if args.no_pysbd else pysbd_splitter()),
        ("shared.text", split_sentences),
    ]
    print(f"{len(texts)} abstracts from {args.csv}")
    header = f"{'splitter':<12} {'sentences':>9} {'abbrev breaks (abstracts)':>26} "
    print(header + f"{'enum breaks (abstracts)':>24} {'missed':>7} {'total s':>8} {'ms/abs':>7}")
    for name, split in splitters:
        if split is None:
            print(f"{name:<12} skipped (not importable or --no-pysbd)")
            continue
        s = score(name, split, texts, vocab)
        print(
            f"{s.name:<12} {s.sentences:>9} {s.abbrev_breaks:>15} ({s.abbrev_abstracts:>4} abs) "
            f"{s.enum_breaks:>13} ({s.enum_abstracts:>4} abs) {s.missed:>7} "
            f"{s.seconds:>8.3f} {1000 * s.seconds / len(texts):>7.3f}"
        )


if __name__ == "__main__":
    main()
