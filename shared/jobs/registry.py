"""Which model a job uses: registered model rows, found by name:version, and their vocabularies."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import get_or_add
from shared.manifest import DEFAULT_MODEL_DIR, read_manifest, read_vocab, sha256_file
from shared.models import RegisteredModel
from shared.text import NUL, nul_message
from shared.units import InputError


@lru_cache(maxsize=8)
def model_vocab(model_path: str) -> frozenset[str]:
    """A model directory's vocabulary, read once per process (the web's forms use it too)."""
    return read_vocab(Path(model_path))


def register_model(session: Session, model_dir: Path = DEFAULT_MODEL_DIR) -> RegisteredModel:
    """The registry row for a model directory, created on first use."""
    manifest = read_manifest(model_dir)
    digest = sha256_file(model_dir / "manifest.json")
    name, version = str(manifest.get("name")), str(manifest.get("version"))
    extra = {
        "manifest_sha256": digest,
        "path": str(model_dir.resolve()),
        "fields": list(manifest["architecture"]["fields"]),
        "metrics": manifest.get("metrics", {}),
    }
    # Two first requests may both find no row; the savepoint lets the loser re-select.
    row, _ = get_or_add(session, RegisteredModel, {"name": name, "version": version}, extra)
    if row.manifest_sha256 != digest:
        raise InputError(
            f"model {name} {version} is registered with different files; "
            "give the new model a new version"
        )
    return row


def find_model(session: Session, settings: Settings, spec: str | None) -> RegisteredModel:
    """``spec`` is None (the default model), ``name`` (its newest version) or ``name:version``."""
    if spec is None:
        return register_model(session, settings.model_dir or DEFAULT_MODEL_DIR)
    if NUL in spec:
        raise InputError(f"model: {nul_message('the model name')}", "model")
    name, _, version = spec.partition(":")
    query = select(RegisteredModel).filter_by(name=name)
    if version:
        query = query.filter_by(version=version)
    row = session.scalars(query.order_by(RegisteredModel.created_at.desc())).first()
    if row is None:
        raise InputError(f"model: no model named {spec!r}; leave it out for the default", "model")
    return row
