"""What the Models page and ``/api/v1/models`` share: a model as JSON, and an upload handed
to a worker to import (the web has no torch or gensim: it keeps the files and sends
``occlab.import_model``, after the commit, by id)."""

from __future__ import annotations

import logging
from typing import Any

from flask import request, url_for

from shared.jobs.dispatch import send_import
from shared.models import ModelStatus, RegisteredModel
from shared.papers.objects import object_store
from shared.registry.catalog import team_default, team_models
from shared.registry.uploads import PARTS, forget_upload, start_import
from web.extensions import celery, db, settings

log = logging.getLogger(__name__)
QUEUE_DOWN = "the workers' queue could not be reached: upload the model again in a minute"


def model_json(row: RegisteredModel, default_id: int) -> dict[str, Any]:
    manifest = row.manifest or {}
    return {
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "model": row.spec,  # what a submission's "model" names
        "url": url_for("api.models.get_model", model_id=row.id),
        "status": row.status,
        "error": row.error,
        "shared": row.team_id is None,
        "default": row.id == default_id,
        "fields": row.fields,
        "architecture": manifest.get("architecture"),
        "vocabulary": (manifest.get("vectors") or {}).get("count"),
        "metrics": row.metrics,
        "imported_by": row.imported_by.email if row.imported_by else None,
        "created_at": row.created_at.isoformat(timespec="seconds") + "Z",
    }


def default_model_id(team_id: int) -> int:
    row = team_default(db.session, settings(), team_id)
    db.session.commit()  # the shipped default, registered on first use
    return row.id


def team_models_json(team_id: int) -> list[dict[str, Any]]:
    """Every model the team may use, its default marked."""
    default = default_model_id(team_id)
    return [model_json(row, default) for row in team_models(db.session, team_id)]


def import_upload(team_id: int, user_id: int) -> RegisteredModel:
    """The request's model upload kept (committed) and sent to a worker; ``InputError``
    naming what to fix, nothing kept. A broker failure ends the row ``failed``, saying so."""
    session, objects = db.session, object_store(settings())
    parts = {
        part: (upload.filename or part, upload.stream)
        for part in PARTS
        if (upload := request.files.get(part)) is not None and upload.filename
    }
    names = (request.form.get("name", ""), request.form.get("version", ""))
    try:
        row = start_import(
            session, team_id, user_id, names, parts, settings().max_upload_bytes, objects
        )
    except Exception:
        session.rollback()
        raise
    session.commit()
    try:
        send_import(celery.app, settings(), row.id)
    except Exception as exc:
        log.warning("model %s: import not sent, the broker failed: %s", row.id, exc)
        row.status, row.error = ModelStatus.FAILED, QUEUE_DOWN
        forget_upload(session, row, objects)
        session.commit()
    return row
