"""A worker converting an uploaded model (``shared.registry.uploads``): the stored files are
written to a scratch directory, imported as ``occlab model import`` does (every shape
checked, no pickle loaded), registered for the team with its files stored by hash, and
forgotten. A bad upload ends ``failed`` with the importer's one-line reason."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
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
    with sessions() as session:
        row = session.get(RegisteredModel, model_id)
        if row is None or row.status != ModelStatus.IMPORTING or not row.upload:
            return "skipped"
        try:
            with tempfile.TemporaryDirectory(prefix="occlab-import-") as scratch:
                _import(session, row, Path(scratch), objects)
        except REFUSED as exc:
            session.rollback()
            row.status, row.error = ModelStatus.FAILED, str(exc)
        row.path = None  # the scratch directory is gone: workers fetch the files by hash
        forget_upload(session, row, objects)
        session.commit()
        log.info("model %s %s: %s", row.id, row.spec, row.status)
        return str(row.status)


def _import(
    session: Session, row: RegisteredModel, scratch: Path, objects: ObjectStore | None
) -> None:
    upload = dict(row.upload or {})
    paths = {part: scratch / part for part in ("checkpoint", "vectors", "spec")}
    for part, path in paths.items():
        with path.open("wb") as fh:
            for piece in chunks(session, upload[part], objects):
                fh.write(piece)
    out = scratch / "model"
    import_model(paths["checkpoint"], paths["vectors"], paths["spec"], out, row.name, row.version)
    register_model(session, out, row.team_id, row.imported_by_id, objects)
