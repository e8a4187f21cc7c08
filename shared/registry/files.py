"""Registered models' files, content-addressed: stored by sha256 in the database (or the
object store), fetched by hash into each machine's cache and verified there.

A worker on another machine thus needs only ``DATABASE_URL`` and ``REDIS_URL`` to run any
team's model: the first time it meets one it writes the files into
``OCCLAB_MODEL_CACHE/<manifest sha256>/``, checking every hash before the directory appears
(written beside it, then renamed, so a half-written copy is never read). Files shared by
two models (the same vectors under new weights) are stored once.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.manifest import ModelFileError, sha256_file
from shared.models import ModelBlob, ModelBlobChunk, RegisteredModel
from shared.papers.objects import ObjectStore

CHUNK_BYTES = 1 << 20
MANIFEST = "manifest.json"


def store_blob(session: Session, path: Path, objects: ObjectStore | None = None) -> str:
    """Store the file at ``path`` unless a file with its hash is stored; its sha256."""
    digest = sha256_file(path)
    if session.get(ModelBlob, digest) is not None:
        return digest
    try:
        with session.begin_nested():
            _insert_blob(session, path, digest, objects)
    except IntegrityError:  # a concurrent registration of the same file stored it first
        if session.get(ModelBlob, digest) is None:
            raise
    return digest


def _insert_blob(session: Session, path: Path, digest: str, objects: ObjectStore | None) -> None:
    blob = ModelBlob(sha256=digest, size=path.stat().st_size)
    session.add(blob)
    session.flush()
    with path.open("rb") as fh:
        if objects is not None:  # keyed by hash: a put repeated by a loser is harmless
            blob.object_url, _, _ = objects.put(f"models/{digest}", fh, blob.size, path.name)
        else:
            for n, piece in enumerate(iter(lambda: fh.read(CHUNK_BYTES), b"")):
                session.execute(insert(ModelBlobChunk).values(sha256=digest, n=n, data=piece))


def _pieces(session: Session, digest: str, objects: ObjectStore | None) -> Iterator[bytes]:
    blob = session.get(ModelBlob, digest)
    if blob is None:
        raise ModelFileError(f"model file {digest} is not stored: register the model again")
    if blob.object_url:
        if objects is None:
            raise ModelFileError(
                "the model's files are in an object store: set OCCLAB_OBJECT_STORE here too"
            )
        yield from objects.pieces(blob.object_url)
        return
    n = 0
    query = select(ModelBlobChunk.data).where(ModelBlobChunk.sha256 == digest)
    while (data := session.scalar(query.where(ModelBlobChunk.n == n))) is not None:
        yield bytes(data)
        n += 1


def _write_verified(session: Session, digest: str, out: Path, objects: ObjectStore | None) -> None:
    check = hashlib.sha256()
    with out.open("wb") as fh:
        for piece in _pieces(session, digest, objects):
            check.update(piece)
            fh.write(piece)
    if check.hexdigest() != digest:
        raise ModelFileError(
            f"the stored copy of {out.name} does not match its sha256 {digest}: it was "
            "damaged in the database or object store; register the model again"
        )


def local_file(
    session: Session, row: RegisteredModel, name: str, cache: Path, objects: ObjectStore | None
) -> Path:
    """One of ``row``'s files on this machine (the web needs only the vocabulary, not the
    weights): from the registered directory when it is here, else fetched once into
    ``cache/files/<sha256>``, checked."""
    found = _local_copy(row)
    if found is not None:
        return found / name
    digest = (row.files or {}).get(name)
    if digest is None:
        raise ModelFileError(f"model {row.spec} has no stored {name}: register it again")
    target = cache / "files" / digest
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".partial-{secrets.token_hex(8)}")
        try:
            _write_verified(session, digest, partial, objects)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def _local_copy(row: RegisteredModel) -> Path | None:
    """The directory the model was registered from, if this machine has it unchanged (the
    shipped default, a model registered here): no copy needed."""
    if not row.path or not row.manifest_sha256:
        return None
    path = Path(row.path)
    manifest = path / MANIFEST
    if manifest.exists() and sha256_file(manifest) == row.manifest_sha256:
        return path
    return None


def local_dir(
    session: Session, row: RegisteredModel, cache: Path, objects: ObjectStore | None = None
) -> Path:
    """A directory on this machine holding ``row``'s files, fetched into ``cache`` by hash
    if need be. The weights' and vectors' hashes are checked again when the model loads."""
    found = _local_copy(row)
    if found is not None:
        return found
    if not row.files or not row.manifest_sha256:
        raise ModelFileError(
            f"model {row.spec} has no stored files and its directory {row.path} is not on "
            "this machine: register it again where the directory is (occlab model register "
            "DIR; occlab db upgrade for the shipped default)"
        )
    target = cache / row.manifest_sha256
    if (target / MANIFEST).is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".partial-{secrets.token_hex(8)}"
    partial.mkdir()
    try:
        for name, digest in row.files.items():
            _write_verified(session, digest, partial / name, objects)
        try:
            os.rename(partial, target)
        except OSError:  # another process of this machine fetched it first
            if not (target / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
