"""A model uploaded on the Models page or ``POST /api/v1/models``: its three files kept as
stored files and a row ``importing`` until a worker converts it (``shared.registry.imports``;
the web has no torch or gensim to do it with)."""

from __future__ import annotations

from typing import IO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.models import ModelStatus, RegisteredModel
from shared.papers.objects import ObjectStore
from shared.papers.storage import delete_file, store_file
from shared.registry.catalog import check_name
from shared.units import InputError

# What each uploaded part is, as the form and the API name it.
PARTS = {
    "checkpoint": "The PyTorch state_dict file (torch.save(model.state_dict(), ...))",
    "vectors": "The word2vec vectors file, text or binary",
    "spec": "SPEC.json: which nn.LSTM reads each field, the pooling and the head",
}


def start_import(
    session: Session,
    team_id: int,
    user_id: int | None,
    fields: tuple[str, str],
    parts: dict[str, tuple[str, IO[bytes]]],
    max_bytes: int,
    objects: ObjectStore | None = None,
) -> RegisteredModel:
    """Keep the uploaded ``parts`` (name to (file name, stream)) and add the ``importing``
    row (flushed, not committed); ``InputError`` naming what to fix, nothing kept."""
    name, version = (f.strip() for f in fields)
    check_name(session, name, version)
    taken = session.scalar(
        select(RegisteredModel).filter_by(team_id=team_id, name=name, version=version)
    )
    if taken is not None and taken.status == ModelStatus.FAILED:
        session.delete(taken)  # a failed import is tried again under its name
        session.flush()
    elif taken is not None:
        message = f"your team has a model {name}:{version} already: give this one a new version"
        raise InputError(message, "version")
    missing = [part for part in PARTS if part not in parts]
    if missing:
        what = PARTS[missing[0]].removeprefix("The ")
        raise InputError(f"{missing[0]} is missing: upload {what}", missing[0])
    stored = {
        part: store_file(session, team_id, filename or part, stream, max_bytes, objects).id
        for part, (filename, stream) in parts.items()
        if part in PARTS
    }
    row = RegisteredModel(
        team_id=team_id, name=name, version=version, status=ModelStatus.IMPORTING,
        imported_by_id=user_id, upload=stored,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # the same name and version uploaded a moment ago
        message = f"your team has a model {name}:{version} already: give this one a new version"
        raise InputError(message, "version") from exc
    return row


def forget_upload(session: Session, row: RegisteredModel, objects: ObjectStore | None) -> None:
    for file_id in (row.upload or {}).values():
        delete_file(session, file_id, objects)
    row.upload = None
