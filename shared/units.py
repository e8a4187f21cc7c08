"""How a field's text becomes occlusion units (words or sentences) and model tokens.

No torch here: the web front-end uses this to show how a text will be split before it is sent.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from shared.boilerplate import Removed, strip_boilerplate
from shared.text import NUL, nul_message, split_sentences, tokenize, words

# The text fields of a paper, in the order the model, the files and the pages name them.
FIELDS = ("title", "abstract")
Unit = Literal["word", "sentence"]
UNITS: tuple[Unit, ...] = ("word", "sentence")
# What each field is cut into when nobody chooses: the web, the API, the CLI and the engine
# all read this one mapping.
DEFAULT_UNITS: dict[str, Unit] = {"title": "word", "abstract": "sentence"}
# The same defaults under the names the API, its clients and the Job columns give them.
DEFAULT_UNIT_OPTIONS: dict[str, Unit] = {f"{f}_unit": u for f, u in DEFAULT_UNITS.items()}


class Detail(StrEnum):
    """How much of an explanation is computed up front. bulk: grid, leave-one-out and the
    features' contributions; full: also the per-token traces and P as the model reads
    (most of the cost, looked at on one page, so a bulk result gets them when first shown)."""

    BULK = "bulk"
    FULL = "full"


# A units mapping (``Model.split``, ``explain(units=...)``) may carry this key: KEEP keeps
# placeholders and publisher lines (shared/boilerplate.py); without it they are left out.
BOILERPLATE = "boilerplate"
KEEP, LEAVE_OUT = "keep", "leave out"


def boilerplate_option(keep: bool) -> dict[str, str]:
    """The entry of a units mapping that says whether boilerplate is kept."""
    return {BOILERPLATE: KEEP if keep else LEAVE_OUT}


def keeps_boilerplate(units: Mapping[str, str]) -> bool:
    return units.get(BOILERPLATE) == KEEP


# The limits keep one paper's word-level grid (quadratic in length) within seconds.
MAX_FIELD_CHARS = 20_000
MAX_FIELD_TOKENS = 1_500


class InputError(ValueError):
    """A paper the engine cannot read; the message names the field and what to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldUnits:
    """One field of one paper, cut into units.

    ``units[u]`` is the list of tokens of unit u (out-of-vocabulary ones included, so the
    display stays faithful); ``prefix_lengths[u]`` counts the in-vocabulary tokens in
    units[:u+1], i.e. the length of the sequence the model reads for that prefix.
    ``removed`` is the boilerplate left out before cutting, as (rule name, text); a field
    that was only boilerplate is one unit with no tokens, labelled with its text.
    """

    name: str
    unit: Unit
    units: list[list[str]]
    labels: list[str]
    skipped: list[str]
    prefix_lengths: list[int]
    text: str = ""
    removed: list[Removed] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        return [t for unit in self.units for t in unit]

    def tokens_upto(self, u: int) -> list[str]:
        """Tokens of units[: u + 1]: the text of prefix u."""
        return [t for unit in self.units[: u + 1] for t in unit]

    def known_tokens(self, vocab: Container[str]) -> list[str]:
        return [t for t in self.tokens if t in vocab]

    @property
    def read_as_nothing(self) -> bool:
        """No word the model knows: the field adds nothing to the paper's logit."""
        return self.prefix_lengths[-1] == 0

    def left_out_json(self) -> list[dict[str, str]]:
        return [{"rule": rule, "text": text} for rule, text in self.removed]

    def to_json(self) -> dict[str, Any]:
        """What a stored result keeps of the field (``Result.units[name]``)."""
        return {"unit": self.unit, "units": self.units, "labels": self.labels,
                "left_out": self.left_out_json()}  # fmt: skip


def split_units(
    name: str, text: object, unit: str, vocab: Container[str], keep_boilerplate: bool = False
) -> FieldUnits:
    """Validate ``text`` and cut it into units; raises :class:`InputError` naming the field.

    Placeholders and trailing publisher lines are left out (and listed in ``removed``)
    unless ``keep_boilerplate``; a field left with nothing is read as nothing.
    """
    if unit not in UNITS:
        raise InputError(f"{name}: unit must be one of {', '.join(UNITS)}, not {unit!r}", name)
    checked = _checked_text(name, text)
    clean, removed = (checked, []) if keep_boilerplate else strip_boilerplate(checked)
    if not clean:
        return FieldUnits(name, unit, [[]], [checked.strip()], [], [0], checked, removed)
    if unit == "word":
        labels = words(clean)
        units = [[w.lower()] for w in labels]
    else:
        pairs = [(s, tokenize(s)) for s in split_sentences(clean)]
        labels = [s for s, toks in pairs if toks]
        units = [toks for _, toks in pairs if toks]
    tokens = [t for u in units for t in u]
    if len(tokens) > MAX_FIELD_TOKENS:
        raise InputError(
            f"{name} has {len(tokens):,} words; the limit is {MAX_FIELD_TOKENS:,}: shorten it",
            name,
        )
    skipped = [t for t in tokens if t not in vocab]
    if len(skipped) == len(tokens):
        # Not an error: the model reads the field as nothing (zero features), one unit of
        # all its words, so its grid has one row (or column) and the result says why.
        return FieldUnits(name, unit, [tokens], [clean.strip()], skipped, [0], checked, removed)
    prefix, running = [], 0
    for u in units:
        running += sum(1 for t in u if t in vocab)
        prefix.append(running)
    return FieldUnits(name, unit, units, labels, skipped, prefix, checked, removed)


def _checked_text(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise InputError(f"{name} must be text, not {type(text).__name__}", name)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise InputError(f"{name} holds bytes that are not UTF-8 text: pass it as UTF-8", name)
    if NUL in text:
        raise InputError(nul_message(name), name)
    if not text.strip():
        raise InputError(f"{name} is empty: give the paper's {name}", name)
    if len(text) > MAX_FIELD_CHARS:
        raise InputError(
            f"{name} is {len(text):,} characters; the limit is {MAX_FIELD_CHARS:,}: shorten it",
            name,
        )
    if not tokenize(text):
        raise InputError(f"{name} has no words, only punctuation or symbols", name)
    return text
