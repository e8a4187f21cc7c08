"""Tokenising and sentence splitting, with no downloads and no torch."""

from __future__ import annotations

import re

# Letters and digits, keeping inner hyphens and apostrophes ("peer-to-peer", "don't"),
# the way the word2vec vocabulary is built.
_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return _TOKEN.findall(text.lower())


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (placeholder splitter; replaced by the corpus-tested one)."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip())
    return [p.strip() for p in parts if p.strip()]
