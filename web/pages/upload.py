"""The upload pages: step 1 sends a CSV, JSON Lines or BibTeX file (``/upload``); step 2
(``/upload/<id>``) previews its first rows, maps CSV columns to title / abstract / id, lists
every problem with its line, and starts the job from the copy kept on the server.

static/js/upload.js checks the size before sending and refreshes step 2's preview in
place when a choice changes; without JS the "Update preview" button does the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from shared.jobs.submit import JobRejected, PaperProblem, Submission, check_papers
from shared.models import RegisteredModel
from shared.papers import FileError, Row, decode_text, parse_papers
from shared.papers.tabular import TARGETS, csv_columns, guess_mapping
from shared.units import Detail, InputError
from web.extensions import settings
from web.pages import uploads
from web.pages.paper_forms import (
    Choices,
    chosen_comparison,
    chosen_detail,
    chosen_keep,
    chosen_model,
    chosen_units,
    model_choices,
    refusal,
    saved_not_sent,
    to_job,
    vocab_of,
)
from web.pages.uploads import StoredUpload
from web.session import current_team_id, current_user, login_required
from web.submissions import QueueUnavailable, start_job

upload_pages = Blueprint("upload_pages", __name__)
PREVIEW_ROWS = 10
EMPTY_CHECK_BYTES = 64 * 1024  # a file blank this far is taken as empty
MAX_PROBLEMS_SHOWN = 200


@dataclass
class Analysis:
    """A stored file read with the chosen mapping, model and units."""

    upload: StoredUpload
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str | None] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    file_error: str | None = None

    @property
    def bad_lines(self) -> set[int]:
        return {p["line"] for p in self.problems}

    @property
    def good_rows(self) -> list[Row]:
        bad = self.bad_lines
        return [r for r in self.rows if r.line not in bad]


@upload_pages.get("/upload")
@login_required
def upload_form() -> Any:
    return _step1()


def _step1(error: str | None = None, status: int = 200) -> Any:
    limit = settings().max_upload_bytes
    return render_template("submit/upload.html", error=error, limit=limit), status


@upload_pages.post("/upload")
@login_required
def receive() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _step1("Choose a file to upload.", 400)
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:300]
    if StoredUpload("", name, b"").kind is None:
        return _step1(f"{name} is not a .csv, .jsonl or .bib file.", 400)
    if not upload.stream.read(EMPTY_CHECK_BYTES).strip():
        return _step1(f"{name} is empty.", 400)
    upload.stream.seek(0)
    try:
        stored = uploads.save(current_team_id(), name, upload.stream)
    except FileError as exc:
        return _step1(str(exc), 413)
    return redirect(url_for(".review", upload_id=stored.token), code=303)


def _stored(upload_id: str) -> StoredUpload:
    found = uploads.load(current_team_id(), upload_id)
    if found is None:
        abort(404, "That upload has expired or does not exist; upload the file again.")
    return found


def analyse(upload: StoredUpload, form: dict[str, str], vocab: frozenset[str],
            units: dict[str, str]) -> Analysis:  # fmt: skip
    out = Analysis(upload)
    try:
        mapping = None
        if upload.kind == "csv":
            out.columns = csv_columns(decode_text(upload.data, upload.name))
            guess = guess_mapping(out.columns)
            out.mapping = mapping = {t: _column(form, t, out.columns, guess[t]) for t in TARGETS}
            if not (mapping["title"] and mapping["abstract"]):
                return out
        parsed = parse_papers(upload.data, upload.name, mapping)
    except FileError as exc:
        out.file_error = str(exc)
        return out
    out.rows = parsed.rows
    found = check_papers([r.paper for r in parsed.rows], vocab, units,
                         [r.line for r in parsed.rows], settings().max_grid_cells)  # fmt: skip
    out.problems = sorted(
        [{"line": e.line, "field": None, "message": e.message} for e in parsed.errors]
        + [{"line": p.index, "field": p.field, "message": p.message} for p in found],
        key=lambda p: p["line"],
    )
    return out


def _column(form: dict[str, str], target: str, columns: list[str], guess: str | None) -> Any:
    key = f"map_{target}"
    if key not in form:
        return guess
    return form[key] if form[key] in columns else None


@dataclass
class ReviewState:
    """What step 2 shows: the choices made, the file read with them, and the errors keyed
    by control name (``form`` for the page as a whole)."""

    choices: Choices
    model: RegisteredModel
    units: dict[str, str]
    errors: dict[str, str]
    analysis: Analysis
    skip_bad: bool
    detail: str = Detail.BULK
    keep: bool = False
    compare: RegisteredModel | None = None


def _state(upload: StoredUpload, form: dict[str, str]) -> ReviewState:
    choices = model_choices()
    units, errors = chosen_units(form)
    try:
        model = chosen_model(form, choices)
    except InputError as exc:
        model, errors["model"] = choices.default, str(exc)
    analysis = analyse(upload, form, vocab_of(model), units)
    if analysis.columns:
        errors.update(_mapping_errors(analysis.mapping))
    # Skipping is the default (a first look has no form); unticking it asks for all or nothing.
    skip_bad = form.get("skip_bad") == "on" if form else True
    detail = chosen_detail(form, errors)
    state = ReviewState(
        choices, model, units, errors, analysis, skip_bad, detail, chosen_keep(form)
    )
    try:
        state.compare = chosen_comparison(form, choices, model)
    except InputError as exc:
        errors[exc.field or "compare_with"] = str(exc)
    return state


def _mapping_errors(mapping: dict[str, str | None]) -> dict[str, str]:
    errors = {f"map_{t}": f"Choose the column that holds the {t}." for t in ("title", "abstract")
              if not mapping[t]}  # fmt: skip
    if mapping["title"] and mapping["title"] == mapping["abstract"]:
        errors["map_abstract"] = "Title and abstract must come from different columns."
    return errors


def _review(state: ReviewState, status: int | None = None) -> Any:
    """Step 2's page; a file that cannot be read at all (``file_error``) answers 400."""
    if status is None:
        status = 400 if state.analysis.file_error else 200
    page = render_template("submit/upload_review.html", preview_rows=PREVIEW_ROWS,
                           max_problems=MAX_PROBLEMS_SHOWN, **vars(state))  # fmt: skip
    return page, status


@upload_pages.get("/upload/<upload_id>")
@login_required
def review(upload_id: str) -> Any:
    return _review(_state(_stored(upload_id), {}))


@upload_pages.post("/upload/<upload_id>")
@login_required
def review_or_start(upload_id: str) -> Any:
    upload = _stored(upload_id)
    state = _state(upload, request.form.to_dict())
    if request.form.get("action") != "start":
        return _review(state)
    analysis, errors = state.analysis, state.errors
    rows = analysis.good_rows if state.skip_bad else analysis.rows
    if analysis.file_error or errors:
        errors.setdefault("form", "Fix the problems below, then start the job.")
    elif analysis.problems and not state.skip_bad:
        errors["form"] = (
            f"{len(analysis.bad_lines):,} rows have problems: fix the file and upload it "
            "again, or tick “Skip the rows with problems”."
        )
    elif not rows:
        errors["form"] = "No row can be explained: every row has a problem."
    if errors:
        return _review(state, 400)
    if analysis.upload.partial:
        return _ingest(upload, state)
    skipped = analysis.problems if state.skip_bad else []
    return _start(upload, state, rows, skipped)


def _submission(upload: StoredUpload, state: ReviewState, **how: Any) -> Submission:
    """The job the page's choices ask for; ``how`` gives its papers (or stored file)."""
    return Submission(
        team_id=current_team_id(),
        submitter_id=current_user.id,
        model=Choices.spec(state.model),
        other_models=(Choices.spec(state.compare),) if state.compare else (),
        title_unit=state.units["title"],
        abstract_unit=state.units["abstract"],
        source="upload",
        source_name=upload.name,
        detail=state.detail,
        keep_boilerplate=state.keep,
        **how,
    )


def _start(
    upload: StoredUpload, state: ReviewState, rows: list[Row], skipped: list[dict[str, Any]]
) -> Any:
    sub = _submission(
        upload,
        state,
        papers=[r.as_paper() for r in rows],
        indexes=[r.line for r in rows],
        problems=[PaperProblem(p["line"], p["field"], p["message"]) for p in skipped],
    )
    return _started(sub, state, upload)


def _ingest(upload: StoredUpload, state: ReviewState) -> Any:
    """A large file: the job reads the stored file itself (in a worker), with the columns
    chosen here, and deletes it when done; rows with problems are skipped or sink the job."""
    sub = _submission(
        upload,
        state,
        papers=[],
        file_id=upload.file_id,
        mapping=state.analysis.mapping or None,
        on_error="skip" if state.skip_bad else "reject",
    )
    return _started(sub, state, None)


def _started(sub: Submission, state: ReviewState, done_with: StoredUpload | None) -> Any:
    """Start the job; the upload is deleted once the job has its papers (``done_with``),
    or kept for the worker that reads it in."""
    try:
        job = start_job(sub)
    except (JobRejected, InputError) as exc:
        state.errors["form"] = refusal(exc, sub)
        return _review(state, 400)
    except QueueUnavailable as exc:  # the job is kept: the upload has served its purpose
        if done_with is not None:
            uploads.delete(done_with)
        return saved_not_sent(exc.job.id)
    if done_with is not None:
        uploads.delete(done_with)
    return to_job(job.id)
