"""What the submit and upload pages share: the model and unit choices, the model's
vocabulary, and the split preview (how a field is cut into units, which words are skipped).

No torch: the preview uses ``shared.units.split_units`` and the vocabulary file only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from shared.jobs.submit import JobRejected, Submission
from shared.models import ModelStatus, RegisteredModel
from shared.registry.catalog import find_model, model_vocab, team_models
from shared.text import words
from shared.units import DEFAULT_UNITS, UNITS, Detail, InputError, split_units
from web.errors import RETRY_AFTER_S, sentence
from web.extensions import db, settings
from web.session import current_team_id
from web.submissions import rejection


@dataclass
class Choices:
    """The model select's options and which one is chosen (``spec`` is ``name:version``)."""

    models: list[RegisteredModel]
    default: RegisteredModel

    @staticmethod
    def spec(model: RegisteredModel) -> str:
        return f"{model.name}:{model.version}"


def model_choices() -> Choices:
    """The models the team may use (ready ones), and its default (the shipped default
    registered, and committed, on first use)."""
    session, team_id = db.session, current_team_id()
    default = find_model(session, settings(), team_id, None)
    session.commit()
    models = [m for m in team_models(session, team_id) if m.status == ModelStatus.READY]
    return Choices(models, default)


def chosen_model(form: Mapping[str, str], choices: Choices) -> RegisteredModel:
    """The model the form names; :class:`InputError` on ``model`` if it is not registered."""
    spec = (form.get("model") or "").strip()
    if not spec:
        return choices.default
    for model in choices.models:
        if Choices.spec(model) == spec:
            return model
    raise InputError("Choose one of the listed models.", "model")


def chosen_comparison(
    form: Mapping[str, str], choices: Choices, model: RegisteredModel
) -> RegisteredModel | None:
    """The second model the form also runs the papers under (``compare_with``), or None:
    one job per model, the pair compared paper by paper on the job page."""
    spec = (form.get("compare_with") or "").strip()
    if not spec:
        return None
    found = next((m for m in choices.models if Choices.spec(m) == spec), None)
    if found is None:
        raise InputError("Choose one of the listed models to compare with.", "compare_with")
    if found.id == model.id:
        raise InputError("Choose a different model to compare with, or none.", "compare_with")
    return found


def vocab_of(model: RegisteredModel) -> frozenset[str]:
    return model_vocab(db.session, settings(), model)  # the cache create_job checks papers with


def chosen_units(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``{"title": unit, "abstract": unit}`` and errors keyed ``title_unit``/``abstract_unit``."""
    units: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, default in DEFAULT_UNITS.items():
        value = form.get(f"{name}_unit") or default
        if value not in UNITS:
            errors[f"{name}_unit"] = f"Choose {' or '.join(UNITS)}."
            value = default
        units[name] = value
    return units, errors


# Sent with the keep_boilerplate box: an unticked box sends nothing, and without this a
# form could not tell "unticked" from "not on the form" (which means the setting).
KEEP_BOX = "keep_boilerplate_box"


def chosen_keep(form: Mapping[str, str]) -> bool:
    """The form's keep_boilerplate box; not on the form, the OCCLAB_KEEP_BOILERPLATE setting."""
    if "keep_boilerplate" in form:
        return form["keep_boilerplate"].lower() in ("1", "true", "yes", "on")
    return False if form.get(KEEP_BOX) else settings().keep_boilerplate


def chosen_detail(form: Mapping[str, str], errors: dict[str, str]) -> Detail:
    """The form's detail choice (bulk when absent); a bad value is an error on ``detail``."""
    value = form.get("detail") or Detail.BULK
    if value not in tuple(Detail):
        errors["detail"] = f"Choose {' or '.join(Detail)}."
        return Detail.BULK
    return Detail(value)


def field_preview(
    name: str, text: str, unit: str, vocab: frozenset[str], keep: bool = False
) -> dict[str, Any]:
    """One field as the page shows it: numbered units, each in parts marked skipped or not.

    ``error`` is the message when the field cannot be read (empty, too long); a field with no
    known word is read (as nothing), so it has no error.
    """
    try:
        split = split_units(name, text, unit, vocab, keep)
    except InputError as exc:
        return {"field": name, "unit": unit, "error": sentence(str(exc)), "units": [],
                "skipped": [], "tokens": 0, "known": 0, "left_out": []}  # fmt: skip
    units = [
        {"n": n, "label": label, "parts": _parts(label, vocab), "skipped": _unknown(toks, vocab)}
        for n, (label, toks) in enumerate(zip(split.labels, split.units, strict=True), 1)
    ]
    tokens = len(split.tokens)
    return {"field": name, "unit": unit, "error": None, "units": units,
            "skipped": split.skipped, "tokens": tokens, "known": tokens - len(split.skipped),
            "left_out": split.left_out_json()}  # fmt: skip


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


def refusal(exc: JobRejected | InputError, sub: Submission) -> str:
    """The form error for a submission ``start_job`` refused, in the API's words."""
    if isinstance(exc, JobRejected):
        return rejection(exc, sub).message
    return sentence(str(exc))  # an unknown model, or its files changed since registered


def to_job(job_id: int) -> BaseResponse:
    return redirect(url_for("job_pages.job_page", job_id=job_id), code=303)


def saved_not_sent(job_id: int) -> tuple[str, int, dict[str, str]]:
    """The job is stored but the queue was unreachable: say it is kept and link to it."""
    page = render_template("submit/not_sent.html", job_id=job_id)
    return page, 503, {"Retry-After": str(RETRY_AFTER_S)}


def too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
    """A page (not the API's JSON) saying how big the upload was and what the limit is."""
    limit = settings().max_upload_bytes
    size = request.content_length
    return render_template("submit/too_large.html", limit=limit, size=size), 413
