"""The labelled papers file: reading, cleaning and a seeded stratified split."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.boilerplate import strip_boilerplate
from shared.text import strip_title_prefix, tokenize


@dataclass(frozen=True)
class Paper:
    title: str
    abstract: str
    label: int
    tokens: dict[str, list[str]]


@dataclass(frozen=True)
class Split:
    train: list[Paper]
    val: list[Paper]
    test: list[Paper]


def read_labelled_csv(
    path: Path, limit: int | None = None, seed: int = 0, keep_boilerplate: bool = True
) -> list[Paper]:
    """Papers with a 0/1 ``class``; duplicate (title, abstract) pairs are dropped so a test
    paper can never have a twin in training. Unless ``keep_boilerplate``, each field is
    read as the service explains it: placeholders and publisher lines left out, so a paper
    whose abstract is only "[No abstract available]" is kept with an empty abstract."""
    seen: set[tuple[str, str]] = set()
    papers = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            title = row["title"].strip()
            abstract = strip_title_prefix(title, row["abstract"].strip())
            key = (title.lower(), abstract.lower())
            if key in seen or not title or not abstract:
                continue
            seen.add(key)
            if not keep_boilerplate:
                title, abstract = strip_boilerplate(title)[0], strip_boilerplate(abstract)[0]
            tokens = {"title": tokenize(title), "abstract": tokenize(abstract)}
            papers.append(Paper(title, abstract, int(row["class"]), tokens))
    if limit is not None and limit < len(papers):
        keep = np.random.default_rng(seed).permutation(len(papers))[:limit]
        papers = [papers[i] for i in sorted(keep)]
    return papers


def stratified_split(
    papers: Sequence[Paper], seed: int, fractions: tuple[float, float] = (0.8, 0.1)
) -> Split:
    """80/10/10 by default, each class split in the same proportions."""
    rng = np.random.default_rng(seed)
    parts: tuple[list[Paper], list[Paper], list[Paper]] = ([], [], [])
    for label in sorted({p.label for p in papers}):
        members = [p for p in papers if p.label == label]
        order = rng.permutation(len(members))
        n_train = round(len(members) * fractions[0])
        n_val = round(len(members) * fractions[1])
        bounds = (0, n_train, n_train + n_val, len(members))
        for part, lo, hi in zip(parts, bounds, bounds[1:], strict=False):
            part.extend(members[i] for i in order[lo:hi])
    return Split(*parts)
