"""The submit page (``/submit``): one paper, with a preview of how it will be split.

The preview is computed here from ``shared.units.split_units`` and the model's vocabulary
(no torch). Without JS the "Preview" button posts the form and the page comes back with it;
with JS (static/js/submit.js) ``POST /submit/preview`` answers JSON, including the same
partial rendered to HTML, so the page updates as the person types. The upload pages
(web/pages/upload.py) hang under this blueprint.

``/submit?from=<result id>`` ("Edit this paper") fills the form in from a result; the form
then carries ``revises``, and the new result links to the one it edits (``JobItem.revises_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from shared.jobs.submit import JobRejected, Submission
from shared.models import RegisteredModel, Result
from shared.results.revisions import submitted_detail
from shared.results.stored import team_result
from shared.units import DEFAULT_UNITS, FIELDS, Detail, InputError
from web.extensions import db, settings
from web.pages.paper_forms import (
    Choices,
    chosen_comparison,
    chosen_detail,
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
from web.pages.results import result_or_404
from web.pages.upload import upload_pages
from web.params import positive_int
from web.session import current_team_id, current_user, login_required
from web.submissions import QueueUnavailable, start_job

submit_pages = Blueprint("submit_pages", __name__)
submit_pages.register_blueprint(upload_pages)
submit_pages.register_error_handler(RequestEntityTooLarge, too_large)


@dataclass
class SubmitState:
    """What the page shows: the form's values (title, abstract, external id), the options
    chosen, the result being edited if any, each field's preview (none before the first
    one), and the errors keyed by control name."""

    values: dict[str, str]
    units: dict[str, str]
    model: RegisteredModel
    detail: str = Detail.BULK
    keep: bool = False
    revises: Result | None = None
    compare: RegisteredModel | None = None
    previews: dict[str, dict[str, Any]] | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls, choices: Choices) -> SubmitState:
        values = dict.fromkeys((*FIELDS, "external_id"), "")
        return cls(values, dict(DEFAULT_UNITS), choices.default, keep=settings().keep_boilerplate)

    def preview(self) -> SubmitState:
        vocab = vocab_of(self.model)
        self.previews = {
            f: field_preview(f, self.values[f], self.units[f], vocab, self.keep) for f in FIELDS
        }
        self.errors.update({f: p["error"] for f, p in self.previews.items() if p["error"]})
        return self


def read_form(choices: Choices) -> SubmitState:
    """The form's values, each field's preview, and the errors keyed by control name."""
    form = request.form
    values = {f: form.get(f, "") for f in FIELDS}
    values["external_id"] = form.get("external_id", "").strip()
    units, errors = chosen_units(form)
    try:
        model = chosen_model(form, choices)
    except InputError as exc:
        model, errors["model"] = choices.default, str(exc)
    detail = chosen_detail(form, errors)
    state = SubmitState(values, units, model, detail, chosen_keep(form), errors=errors)
    state.revises = _edited(form.get("revises"), errors)
    try:
        state.compare = chosen_comparison(form, choices, model)
    except InputError as exc:
        errors[exc.field or "compare_with"] = str(exc)
    return state.preview()


def _edited(value: str | None, errors: dict[str, str]) -> Result | None:
    """The team's result the form edits (its ``revises``), or None; a bad one is an error."""
    if not value:
        return None
    number = positive_int(value, None)
    row = None if number is None else team_result(db.session, current_team_id(), number)
    if row is None:
        errors["form"] = f"There is no result {value[:20]} in your team to edit: start afresh."
    return row


def from_result(result: Result, choices: Choices) -> SubmitState:
    """The form filled in from a result, to edit and run again ("Edit this paper")."""
    paper = result.paper
    values = {"title": paper.title, "abstract": paper.abstract}
    values["external_id"] = paper.external_id or ""
    units = {"title": result.title_unit, "abstract": result.abstract_unit}
    model = next((m for m in choices.models if m.id == result.model_id), choices.default)
    detail = submitted_detail(db.session, result.id) or Detail.BULK
    state = SubmitState(values, units, model, detail, result.keep_boilerplate, result)
    return state.preview()


def render(choices: Choices, state: SubmitState | None = None, status: int = 200) -> Any:
    state = state or SubmitState.blank(choices)
    page = render_template("submit/submit.html", choices=choices, **vars(state))
    return page, status


@submit_pages.get("/submit")
@login_required
def submit_form() -> Any:
    """The blank form, or ``?from=<result id>``: that result's paper and options filled in."""
    choices = model_choices()
    edited = request.args.get("from")
    if edited is None:
        return render(choices)
    result = result_or_404(positive_int(edited, 0))
    return render(choices, from_result(result, choices))


@submit_pages.post("/submit")
@login_required
def submit() -> Any:
    choices = model_choices()
    state = read_form(choices)
    if request.form.get("action") == "preview":
        return render(choices, state)
    if state.errors:
        return render(choices, state, 400)
    paper = {**state.values, "id": state.values["external_id"] or None}
    del paper["external_id"]
    sub = Submission(
        team_id=current_team_id(),
        submitter_id=current_user.id,
        papers=[paper],
        model=Choices.spec(state.model),
        other_models=(Choices.spec(state.compare),) if state.compare else (),
        title_unit=state.units["title"],
        abstract_unit=state.units["abstract"],
        source="web",
        detail=state.detail,
        keep_boilerplate=state.keep,
        revises_id=state.revises.id if state.revises else None,
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
