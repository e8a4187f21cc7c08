"""``/api/v1/models``: the models the token's team may use, a new one uploaded (owners), the
team's default chosen (owners). Another team's model answers 404, like one that does not
exist; submitting with its name answers 400 "no model named ..."."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from shared.accounts import is_team_owner
from shared.models import RegisteredModel
from shared.papers.records import FileError
from shared.registry.catalog import find_model, model_by_id, set_team_default
from shared.units import InputError
from web.api.tokens import current_token, require_token, team_id
from web.errors import ApiError
from web.extensions import db, settings
from web.model_imports import default_model_id, import_upload, model_json, team_models_json
from web.params import MAX_ID

blueprint = Blueprint("models", __name__)


def _model_or_404(model_id: int) -> RegisteredModel:
    row = model_by_id(db.session, team_id(), model_id)
    if row is None:
        raise ApiError(404, f"no model {model_id} in your team")
    return row


def _owner_only(what: str) -> None:
    token = current_token()
    if not is_team_owner(db.session, token.user_id, token.team_id):
        raise ApiError(403, f"only an owner of the team can {what}")


@blueprint.get("/models")
@require_token
def list_models() -> Response:
    return jsonify({"models": team_models_json(team_id())})


@blueprint.get("/models/<id:model_id>")
@require_token
def get_model(model_id: int) -> Response:
    return jsonify(model_json(_model_or_404(model_id), default_model_id(team_id())))


@blueprint.post("/models")
@require_token
def create_model() -> tuple[Response, int, dict[str, str]]:
    """Multipart: ``checkpoint``, ``vectors`` and ``spec`` files, ``name`` and ``version``;
    202 ``importing`` (a worker converts it: follow ``url``), or 400 naming what to fix."""
    _owner_only("import models")
    token = current_token()
    try:
        row = import_upload(token.team_id, token.user_id)
    except (InputError, FileError) as exc:
        field = getattr(exc, "field", None)
        raise ApiError(400, str(exc), [{"field": field, "error": str(exc)}]) from exc
    url = url_for("api.models.get_model", model_id=row.id)
    status = 503 if row.error else 202
    return jsonify(model_json(row, default_model_id(token.team_id))), status, {"Location": url}


@blueprint.put("/models/default")
@require_token
def put_default() -> Response:
    """JSON ``{"model": "name:version"}`` or ``{"id": n}``: the team's default model."""
    _owner_only("choose the team's default model")
    body = request.get_json(silent=True) or {}
    chosen = _named(body)
    try:
        set_team_default(db.session, team_id(), chosen)
    except InputError as exc:
        raise ApiError(400, str(exc)) from exc
    db.session.commit()
    return jsonify(model_json(chosen, chosen.id))


def _named(body: object) -> RegisteredModel:
    number = body.get("id") if isinstance(body, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        if not 1 <= number <= MAX_ID:
            raise ApiError(404, f"no model {number} in your team")
        return _model_or_404(number)
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        try:
            return find_model(db.session, settings(), team_id(), body["model"])
        except InputError as exc:
            raise ApiError(400, str(exc)) from exc
    raise ApiError(400, 'send {"model": "name:version"} or {"id": <model id>}')
