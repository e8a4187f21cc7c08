"""The submit page (``/submit``): one paper, with a preview of how it will be split.

The preview is computed here from ``shared.units.split_units`` and the model's vocabulary
(no torch). Without JS the "Preview" button posts the form and the page comes back with it;
with JS (static/js/submit.js) ``POST /submit/preview`` answers JSON, including the same
partial rendered to HTML, so the page updates as the person types. The upload pages
(web/pages/upload.py) hang under this blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from shared.jobs.submit import JobRejected, Submission
from shared.models import RegisteredModel
from shared.units import DEFAULT_UNITS, FIELDS, InputError
from web.pages.paper_forms import (
    Choices,
    chosen_keep,
    chosen_model,
    chosen_units,
    field_preview,
    model_choices,
    refusal,
    saved_not_sent,
    to_job,
    too_large,
    vocab_of,
)
from web.pages.upload import upload_pages
from web.session import current_team_id, current_user, login_required
from web.submissions import QueueUnavailable, start_job

submit_pages = Blueprint("submit_pages", __name__)
submit_pages.register_blueprint(upload_pages)
submit_pages.register_error_handler(RequestEntityTooLarge, too_large)


@dataclass
class SubmitState:
    """What the page shows: the form's values, the units and model chosen, each field's
    preview (none before the first one), and the errors keyed by control name."""

    values: dict[str, str]
    units: dict[str, str]
    model: RegisteredModel
    previews: dict[str, dict[str, Any]] | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls, choices: Choices) -> SubmitState:
        return cls(dict.fromkeys(FIELDS, ""), dict(DEFAULT_UNITS), choices.default)


def read_form(choices: Choices) -> SubmitState:
    """The form's values, each field's preview, and the errors keyed by control name."""
    form = request.form
    values = {f: form.get(f, "") for f in FIELDS}
    units, errors = chosen_units(form)
    try:
        model = chosen_model(form, choices)
    except InputError as exc:
        model, errors["model"] = choices.default, str(exc)
    keep = chosen_keep(form)
    previews = {f: field_preview(f, values[f], units[f], vocab_of(model), keep) for f in FIELDS}
    errors.update({f: p["error"] for f, p in previews.items() if p["error"]})
    return SubmitState(values, units, model, previews, errors)


def render(choices: Choices, state: SubmitState | None = None, status: int = 200) -> Any:
    state = state or SubmitState.blank(choices)
    page = render_template("submit/submit.html", choices=choices, **vars(state))
    return page, status


@submit_pages.get("/submit")
@login_required
def submit_form() -> Any:
    return render(model_choices())


@submit_pages.post("/submit")
@login_required
def submit() -> Any:
    choices = model_choices()
    state = read_form(choices)
    if request.form.get("action") == "preview":
        return render(choices, state)
    if state.errors:
        return render(choices, state, 400)
    sub = Submission(
        team_id=current_team_id(),
        submitter_id=current_user.id,
        papers=[state.values],
        model=Choices.spec(state.model),
        title_unit=state.units["title"],
        abstract_unit=state.units["abstract"],
        source="web",
        keep_boilerplate=chosen_keep(request.form),
    )
    try:
        job = start_job(sub)
    except (JobRejected, InputError) as exc:
        state.errors["form"] = refusal(exc, sub)
        return render(choices, state, 400)
    except QueueUnavailable as exc:
        return saved_not_sent(exc.job.id)
    return to_job(job.id)


@submit_pages.post("/submit/preview")
@login_required
def preview() -> Response:
    """JSON for submit.js: each field's units and skipped words, and the partial's HTML."""
    state = read_form(model_choices())
    html = render_template("submit/_preview.html", previews=state.previews)
    return jsonify(
        {
            "fields": state.previews,
            "errors": state.errors,
            "model": Choices.spec(state.model),
            "html": html,
        }
    )
