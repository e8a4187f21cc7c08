"""A worker converting an uploaded model (``shared.registry.uploads``): the stored files are
written to a scratch directory, imported as ``occlab model import`` does (every shape
checked, no pickle loaded), registered for the team with its files stored by hash, and
forgotten. A bad upload ends ``failed`` with the importer's one-line reason."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import utcnow
from shared.engine.import_spec import ImportProblem
from shared.engine.importer import import_model
from shared.manifest import ModelFileError
from shared.models import ModelStatus, RegisteredModel
from shared.papers.objects import ObjectStore, object_store
from shared.papers.records import FileError
from shared.papers.storage import chunks
from shared.registry.catalog import register_model
from shared.registry.uploads import forget_upload
from shared.units import InputError

log = logging.getLogger(__name__)
REFUSED = (ImportProblem, InputError, ModelFileError, FileError)


def finish_import(sessions: sessionmaker[Session], settings: Settings, model_id: int) -> str:
    """``ready``, ``failed`` or ``skipped`` (no such row, or not waiting to be imported)."""
    objects = object_store(settings)
    claim = _claim(sessions, model_id)
    if claim == "skipped":
        return claim
    with sessions() as session:
        row = session.get_one(RegisteredModel, model_id)
        if claim == "redelivered":  # the last try killed its worker: do not try for ever
            _fail(row, DIED)
        else:
            try:
                with tempfile.TemporaryDirectory(prefix="occlab-import-") as scratch:
                    _import(session, row, Path(scratch), objects)
            except Exception as exc:  # whatever stops it, the row must say so
                session.rollback()
                _fail(row, _reason(exc))
        row.path = None  # the scratch directory is gone: workers fetch the files by hash
        forget_upload(session, row, objects)
        session.commit()
        log.info("model %s %s: %s", row.id, row.spec, row.status)
        return str(row.status)


DIED = "the worker stopped while importing it (out of memory or time?): upload it again"


def _claim(sessions: sessionmaker[Session], model_id: int) -> str:
    """``claimed`` (first try: stamped, committed), ``redelivered`` (stamped by a try that
    never finished: its worker died, and Redis sent the task again) or ``skipped``."""
    with sessions.begin() as session:
        waiting = RegisteredModel.id == model_id, RegisteredModel.status == ModelStatus.IMPORTING
        stamped = session.execute(
            update(RegisteredModel)
            .where(*waiting, RegisteredModel.import_started_at.is_(None))
            .values(import_started_at=utcnow())
        )
        if stamped.rowcount == 1:  # type: ignore[attr-defined]
            return "claimed"
        found = session.scalar(select(RegisteredModel.id).where(*waiting))
        return "skipped" if found is None else "redelivered"


def _fail(row: RegisteredModel, reason: str) -> None:
    row.status, row.error = ModelStatus.FAILED, reason


def _reason(exc: Exception) -> str:
    """The importer's one-line reason, with the worker's scratch paths left out; anything
    else is unexpected (logged with its traceback)."""
    if isinstance(exc, REFUSED):
        return SCRATCH.sub("", str(exc))
    log.exception("model import stopped unexpectedly")
    return f"the import stopped unexpectedly ({type(exc).__name__}: {exc}); upload it again"


SCRATCH = re.compile(r"\S*/occlab-import-[^/\s]+/")


def _import(
    session: Session, row: RegisteredModel, scratch: Path, objects: ObjectStore | None
) -> None:
    upload = dict(row.upload or {})
    paths = {part: scratch / part for part in ("checkpoint", "vectors", "spec")}
    for part, path in paths.items():
        with path.open("wb") as fh:
            for piece in chunks(session, upload[part], objects):
                fh.write(piece)
    session.commit()  # no transaction held open while torch and gensim convert (minutes)
    out = scratch / "model"
    import_model(paths["checkpoint"], paths["vectors"], paths["spec"], out, row.name, row.version)
    register_model(session, out, row.team_id, row.imported_by_id, objects)
