"""Registered models' files, content-addressed: stored by sha256 in the database (or the
object store), fetched by hash into each machine's cache and verified there.

A worker on another machine thus needs only ``DATABASE_URL`` and ``REDIS_URL`` to run any
team's model: the first time it meets one it writes the files into
``OCCLAB_MODEL_CACHE/<manifest sha256>/``, checking every hash before the directory appears
(written beside it, then renamed, so a half-written copy is never read). Files shared by
two models (the same vectors under new weights) are stored once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.manifest import ModelFileError, sha256_file
from shared.models import ModelBlob, ModelBlobChunk, RegisteredModel
from shared.papers.objects import ObjectStore
from shared.papers.storage import read_chunks, write_chunks

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
            write_chunks(session, ModelBlobChunk, {"sha256": digest}, fh, blob.size, path.name)


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
    yield from read_chunks(session, ModelBlobChunk, {"sha256": digest})


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
        with _fetching(target.parent, digest) as partial:
            if not target.is_file():  # or another process fetched it while this one waited
                _write_verified(session, digest, partial, objects)
                os.replace(partial, target)
    return target


@contextmanager
def _fetching(folder: Path, digest: str) -> Iterator[Path]:
    """Where to write ``digest``'s copy before it is renamed into place, with this machine's
    other processes kept waiting meanwhile (a lock on ``folder``): they then find the copy
    instead of fetching it again. Under the lock a partial copy is a killed fetch's leftover,
    so it is removed first, and again if this fetch fails."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = os.open(folder, os.O_RDONLY)
    partial = folder / f".partial-{digest}"
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _remove(partial)
        yield partial
    finally:
        _remove(partial)
        os.close(lock)  # releases the lock


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


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
    if not (target / MANIFEST).is_file():
        with _fetching(cache, row.manifest_sha256) as partial:
            if not (target / MANIFEST).is_file():
                partial.mkdir()
                for name, digest in row.files.items():
                    _write_verified(session, digest, partial / name, objects)
                os.rename(partial, target)
    return target
