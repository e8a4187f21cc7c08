"""Pages: the Models page (``/models``): the models the team may use with what each reads
and how well it did, the team's default, and, for owners, a model of their own uploaded
(checkpoint, vectors, spec) for a worker to import."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from shared.models import ModelStatus
from shared.papers.records import FileError
from shared.registry.catalog import model_by_id, set_team_default
from shared.registry.uploads import PARTS
from shared.units import InputError
from web.extensions import db
from web.model_imports import import_upload, team_models_json
from web.session import current_team_id, current_user, is_owner, login_required

model_pages = Blueprint("model_pages", __name__)


def _render(status: int = 200, error: str | None = None, form: Any = None) -> tuple[str, int]:
    rows = team_models_json(current_team_id())
    waiting = any(r["status"] == ModelStatus.IMPORTING for r in rows)
    page = render_template(
        "models/models.html", models=rows, owner=is_owner(), parts=PARTS, error=error,
        form=form or {}, waiting=waiting,
    )  # fmt: skip
    return page, status


@model_pages.get("/models")
@login_required
def models_page() -> tuple[str, int]:
    return _render()


@model_pages.post("/models")
@login_required
def upload_model() -> Any:
    if not is_owner():
        abort(403)
    try:
        row = import_upload(current_team_id(), current_user.id)
    except (InputError, FileError) as exc:
        return _render(400, str(exc), request.form)
    if row.error:
        return _render(503, row.error, request.form)
    flash(f"{row.spec} is being imported: this page shows when it is ready.")
    return redirect(url_for("model_pages.models_page"), 303)


@model_pages.post("/models/<id:model_id>/default")
@login_required
def make_default(model_id: int) -> BaseResponse | tuple[str, int]:
    if not is_owner():
        abort(403)
    row = model_by_id(db.session, current_team_id(), model_id)
    if row is None:
        abort(404)
    try:
        set_team_default(db.session, current_team_id(), row)
    except InputError as exc:
        return _render(400, str(exc))
    db.session.commit()
    flash(f"New submissions of your team use {row.spec} unless they choose another model.")
    return redirect(url_for("model_pages.models_page"), 303)
