"""What the submit and upload pages share: the model and unit choices, the model's
vocabulary, and the split preview (how a field is cut into units, which words are skipped).

No torch: the preview uses ``shared.units.split_units`` and the vocabulary file only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import render_template, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from shared.jobs import find_model
from shared.manifest import read_vocab
from shared.models import RegisteredModel
from shared.text import words
from shared.units import UNITS, InputError, split_units
from web.extensions import db, settings

DEFAULT_UNITS = {"title": "word", "abstract": "sentence"}
FIELDS = ("title", "abstract")


@dataclass
class Choices:
    """The model select's options and which one is chosen (``spec`` is ``name:version``)."""

    models: list[RegisteredModel]
    default: RegisteredModel

    @staticmethod
    def spec(model: RegisteredModel) -> str:
        return f"{model.name}:{model.version}"


def model_choices() -> Choices:
    """Every registered model, the default one registered (and committed) on first use."""
    session = db.session
    default = find_model(session, settings(), None)
    session.commit()
    models = session.scalars(
        select(RegisteredModel).order_by(RegisteredModel.name, RegisteredModel.created_at.desc())
    ).all()
    return Choices(list(models), default)


def chosen_model(form: Mapping[str, str], choices: Choices) -> RegisteredModel:
    """The model the form names; :class:`InputError` on ``model`` if it is not registered."""
    spec = (form.get("model") or "").strip()
    if not spec:
        return choices.default
    for model in choices.models:
        if Choices.spec(model) == spec:
            return model
    raise InputError("Choose one of the listed models.", "model")


@lru_cache(maxsize=8)
def _vocab(path: str) -> frozenset[str]:
    return read_vocab(Path(path))


def vocab_of(model: RegisteredModel) -> frozenset[str]:
    return _vocab(model.path)


def chosen_units(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``{"title": unit, "abstract": unit}`` and errors keyed ``title_unit``/``abstract_unit``."""
    units, errors = {}, {}
    for name, default in DEFAULT_UNITS.items():
        value = form.get(f"{name}_unit") or default
        if value not in UNITS:
            errors[f"{name}_unit"] = f"Choose {' or '.join(UNITS)}."
            value = default
        units[name] = value
    return units, errors


def field_preview(name: str, text: str, unit: str, vocab: frozenset[str]) -> dict[str, Any]:
    """One field as the page shows it: numbered units, each in parts marked skipped or not.

    ``error`` is the message when the field cannot be read (empty, too long, no known word).
    """
    try:
        split = split_units(name, text, unit, vocab)
    except InputError as exc:
        return {"field": name, "unit": unit, "error": _sentence(str(exc)), "units": [],
                "skipped": [], "tokens": 0, "known": 0}  # fmt: skip
    units = [
        {"n": n, "label": label, "parts": _parts(label, vocab), "skipped": _unknown(toks, vocab)}
        for n, (label, toks) in enumerate(zip(split.labels, split.units, strict=True), 1)
    ]
    tokens = len(split.tokens)
    return {"field": name, "unit": unit, "error": None, "units": units,
            "skipped": split.skipped, "tokens": tokens,
            "known": tokens - len(split.skipped)}  # fmt: skip


def _unknown(tokens: list[str], vocab: frozenset[str]) -> list[str]:
    return [t for t in tokens if t not in vocab]


def _parts(label: str, vocab: frozenset[str]) -> list[dict[str, Any]]:
    """``label`` cut into words (``skipped`` when out of vocabulary) and the text between."""
    parts: list[dict[str, Any]] = []
    cursor = 0
    for word in words(label):
        start = label.find(word, cursor)
        if start > cursor:
            parts.append({"text": label[cursor:start], "word": False, "skipped": False})
        parts.append({"text": word, "word": True, "skipped": word.lower() not in vocab})
        cursor = start + len(word)
    if cursor < len(label):
        parts.append({"text": label[cursor:], "word": False, "skipped": False})
    return parts


def _sentence(message: str) -> str:
    """``title is empty: give ...`` as a sentence for the page."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
    """A page (not the API's JSON) saying how big the upload was and what the limit is."""
    limit = settings().max_upload_bytes
    size = request.content_length
    return render_template("submit/too_large.html", limit=limit, size=size), 413
