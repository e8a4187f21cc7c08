"""Which models a team may use: the shipped default (shared by every team), the team's own
imports, and the team's default; found by ``name`` or ``name:version``.

A model of another team is never found: by id it is absent (the API answers 404), by name
"no model named ..." (400), exactly as for a model nobody registered.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import get_or_add, session_scope, upgrade_database
from shared.manifest import (
    DEFAULT_MODEL_DIR,
    VOCAB,
    read_manifest,
    read_words,
    sha256_file,
    verify_files,
)
from shared.models import ModelStatus, RegisteredModel, TeamDefaultModel
from shared.papers.objects import ObjectStore, object_store
from shared.registry.files import MANIFEST, local_file, store_blob
from shared.text import NUL, nul_message
from shared.units import InputError

_VOCABS: dict[str, frozenset[str]] = {}


def visible_to(team_id: int) -> ColumnElement[bool]:
    return or_(RegisteredModel.team_id == team_id, RegisteredModel.team_id.is_(None))


def register_model(
    session: Session,
    model_dir: Path,
    team_id: int | None = None,
    imported_by_id: int | None = None,
    objects: ObjectStore | None = None,
) -> RegisteredModel:
    """The registry row for a model directory (``team_id`` None: shared by every team),
    created on first use with its files stored by hash (flushed, not committed)."""
    manifest = read_manifest(model_dir)
    name, version = str(manifest.get("name")), str(manifest.get("version"))
    key = {"team_id": team_id, "name": name, "version": version}
    row = session.scalar(select(RegisteredModel).filter_by(**key))
    digest = sha256_file(model_dir / MANIFEST)
    if row is not None and row.manifest_sha256 == digest and row.files:
        return row  # each submission asks for the default: only its manifest is read
    verify_files(model_dir, manifest)
    files = {n: store_blob(session, model_dir / n, objects) for n in (MANIFEST, *manifest["files"])}
    if team_id is None:
        check_format(name, version)
    else:
        check_name(session, name, version)
    extra = {"path": str(model_dir.resolve()), "imported_by_id": imported_by_id}
    row, _ = get_or_add(session, RegisteredModel, key, extra)
    if row.manifest_sha256 not in (None, digest):
        raise InputError(
            f"model {name} {version} is registered with different files; "
            "give the new model a new version"
        )
    fill(row, manifest, files)
    row.status, row.error = ModelStatus.READY, None
    return row


def check_format(name: str, version: str) -> None:
    """Non-blank, within their columns, and without ``:`` (``name:version`` is how a job
    names a model)."""
    if not name.strip() or not version.strip():
        raise InputError("a model needs a name and a version", "name")
    if len(name) > 100 or len(version) > 50:
        raise InputError("a model's name is at most 100 characters, its version 50", "name")
    if NUL in name + version:
        raise InputError(nul_message("the model's name"), "name")
    if ":" in name + version:
        raise InputError("a model's name and version may not contain ':'", "name")


def check_name(session: Session, name: str, version: str) -> None:
    """A team's model may not take a shared model's name (a job naming it would be read
    two ways)."""
    check_format(name, version)
    shared = select(RegisteredModel.id).where(
        RegisteredModel.team_id.is_(None), RegisteredModel.name == name
    )
    if session.scalar(shared) is not None:
        raise InputError(
            f"{name!r} is the name of a model every team shares: choose another", "name"
        )


def fill(row: RegisteredModel, manifest: dict[str, object], files: dict[str, str]) -> None:
    """What the web shows of a model, read once from its manifest into the row."""
    arch = manifest["architecture"]
    assert isinstance(arch, dict)
    row.manifest_sha256, row.files, row.manifest = files[MANIFEST], files, manifest
    row.fields = list(arch["fields"])
    metrics = manifest.get("metrics")
    row.metrics = metrics if isinstance(metrics, dict) else {}


def shipped_default(session: Session, settings: Settings) -> RegisteredModel:
    """The installation's default (``OCCLAB_MODEL_DIR`` or the shipped one), registered for
    every team on first use (``occlab db upgrade`` does it up front)."""
    model_dir = settings.model_dir or DEFAULT_MODEL_DIR
    return register_model(session, model_dir, objects=object_store(settings))


def prepare_database(settings: Settings) -> str:
    """Migrate to the newest revision and register the shipped default with its files (a
    worker elsewhere fetches them from there): what ``occlab db upgrade`` does."""
    head = upgrade_database(settings)
    with session_scope(settings.database_url) as session:
        shipped_default(session, settings)
    return head


def team_default(session: Session, settings: Settings, team_id: int) -> RegisteredModel:
    chosen = session.scalar(
        select(RegisteredModel)
        .join(TeamDefaultModel, TeamDefaultModel.model_id == RegisteredModel.id)
        .where(TeamDefaultModel.team_id == team_id)
    )
    return chosen if chosen is not None else shipped_default(session, settings)


def set_team_default(session: Session, team_id: int, model: RegisteredModel) -> None:
    if model.status != ModelStatus.READY:
        raise InputError(f"model {model.spec} is {model.status}: it cannot be the default")
    # get_or_add: two owners choosing a first default at once both succeed, the later wins.
    row, _ = get_or_add(session, TeamDefaultModel, {"team_id": team_id}, {"model_id": model.id})
    row.model_id = model.id


def team_models(session: Session, team_id: int) -> list[RegisteredModel]:
    """Every model the team may see, shared first, then by name and newest version."""
    query = select(RegisteredModel).where(visible_to(team_id))
    order = (RegisteredModel.team_id.is_not(None), RegisteredModel.name)
    return list(session.scalars(query.order_by(*order, RegisteredModel.created_at.desc())))


def shared_models(session: Session) -> list[RegisteredModel]:
    query = select(RegisteredModel).where(RegisteredModel.team_id.is_(None))
    return list(session.scalars(query.order_by(RegisteredModel.name, RegisteredModel.id)))


def model_by_id(session: Session, team_id: int, model_id: int) -> RegisteredModel | None:
    return session.scalar(
        select(RegisteredModel).where(RegisteredModel.id == model_id, visible_to(team_id))
    )


def find_model(
    session: Session, settings: Settings, team_id: int, spec: str | None
) -> RegisteredModel:
    """``spec`` is None (the team's default), ``name`` (its newest version) or
    ``name:version``, among the models the team may use; ``InputError`` on ``model``."""
    if spec is None:
        return team_default(session, settings, team_id)
    if NUL in spec:
        raise InputError(f"model: {nul_message('the model name')}", "model")
    name, _, version = spec.partition(":")
    query = select(RegisteredModel).where(visible_to(team_id), RegisteredModel.name == name)
    if version:
        query = query.where(RegisteredModel.version == version)
    # The team's own first; for a bare name a ready version before one importing or failed.
    ready = RegisteredModel.status != ModelStatus.READY
    order = (RegisteredModel.team_id.is_(None), ready, RegisteredModel.created_at.desc())
    query = query.order_by(*order)
    row = session.scalars(query).first()
    if row is None and shipped_default(session, settings).name == name:
        row = session.scalars(query).first()  # named before anything registered it
    if row is None:
        raise InputError(f"model: no model named {spec!r}; leave it out for the default", "model")
    if row.status == ModelStatus.IMPORTING:
        raise InputError(f"model: {row.spec} is still being imported; try again soon", "model")
    if row.status == ModelStatus.FAILED:
        raise InputError(f"model: {row.spec} failed to import ({row.error})", "model")
    return row


def model_vocab(session: Session, settings: Settings, row: RegisteredModel) -> frozenset[str]:
    """A model's known words, read once per process from this machine's copy of its
    vocabulary (the web checks papers with it: it fetches that file alone)."""
    key = row.manifest_sha256 or str(row.path)
    if key not in _VOCABS:
        cache, objects = settings.model_cache_dir, object_store(settings)
        path = local_file(session, row, VOCAB, cache, objects)
        _VOCABS[key] = read_words(path)
    return _VOCABS[key]
