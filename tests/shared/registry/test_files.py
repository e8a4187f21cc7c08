"""Model files by hash: stored once, fetched into an empty cache and checked, a damaged
copy refused, the object store used when one is set, the registering machine's own
directory read in place."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.manifest import ModelFileError, read_vocab, sha256_file
from shared.models import ModelBlob, ModelBlobChunk
from shared.papers.objects import object_store
from shared.registry.catalog import register_model
from shared.registry.files import local_dir
from tests.fixtures.objects import ObjectServer


@pytest.fixture
def moved(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model named tiny, registered from here, then deleted by the test."""
    return renamed(Path(shutil.copytree(tiny_model_dir, tmp_path / "tiny")), "tiny")


def renamed(model_dir: Path, name: str) -> Path:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    (model_dir / "manifest.json").write_text(json.dumps({**manifest, "name": name}))
    return model_dir


def test_a_worker_without_the_directory_fetches_verified_files_by_hash(
    sessions: sessionmaker[Session], moved: Path, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        row = register_model(session, moved)
        files = dict(row.files or {})
    shutil.rmtree(moved)
    cache = tmp_path / "cache"
    with sessions() as session:
        row = register_model_row(session, files)
        folder = local_dir(session, row, cache)
        assert folder == cache / files["manifest.json"]
        assert {p.name: sha256_file(p) for p in folder.iterdir()} == files
        assert local_dir(session, row, cache) == folder  # the second time: the cache
    assert [p.name for p in cache.iterdir()] == [folder.name]  # no partial copies left


def register_model_row(session: Session, files: dict[str, str]):
    from shared.models import RegisteredModel

    return session.scalars(
        select(RegisteredModel).where(RegisteredModel.manifest_sha256 == files["manifest.json"])
    ).one()


def test_the_directory_it_was_registered_from_is_read_in_place(
    sessions: sessionmaker[Session], moved: Path, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        row = register_model(session, moved)
        assert local_dir(session, row, tmp_path / "cache") == moved.resolve()
    assert not (tmp_path / "cache").exists()


def test_files_shared_by_two_models_are_stored_once(
    sessions: sessionmaker[Session], moved: Path, tmp_path: Path
) -> None:
    other = renamed(Path(shutil.copytree(moved, tmp_path / "other")), "tiny-again")
    with sessions.begin() as session:
        first = register_model(session, moved)
        second = register_model(session, other)
        assert first.id != second.id
        assert first.files is not None and second.files is not None
        shared = {n for n in first.files if first.files[n] == second.files[n]}
        assert shared == {"weights.safetensors", "vectors.npy", "vocab.txt"}
        digests = set(first.files.values()) | set(second.files.values())
        counted = select(func.count()).where(ModelBlob.sha256.in_(digests))
        assert session.scalar(counted) == len(digests) == 5


def test_a_damaged_stored_copy_is_refused_and_nothing_is_cached(
    sessions: sessionmaker[Session], moved: Path, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        row = register_model(session, moved)
        vocab = (row.files or {})["vocab.txt"]
        session.execute(
            update(ModelBlobChunk).where(ModelBlobChunk.sha256 == vocab).values(data=b"evil\n")
        )
    shutil.rmtree(moved)
    cache = tmp_path / "cache"
    with sessions() as session:
        row = register_model_row(session, {"manifest.json": row.manifest_sha256 or ""})
        with pytest.raises(ModelFileError, match=r"vocab\.txt does not match its sha256"):
            local_dir(session, row, cache)
    assert list(cache.iterdir()) == []


def test_in_an_object_store_the_bytes_are_in_the_bucket(
    object_settings: Settings, object_server: ObjectServer, sessions: sessionmaker[Session],
    moved: Path, tmp_path: Path,
) -> None:  # fmt: skip
    objects = object_store(object_settings)
    with sessions.begin() as session:
        row = register_model(session, moved, objects=objects)
        files = dict(row.files or {})
        mine = select(func.count()).where(ModelBlobChunk.sha256.in_(files.values()))
        assert session.scalar(mine) == 0
    bucket = object_settings.object_store.removeprefix("s3://").split("/")[0]
    assert {k.rsplit("/", 1)[-1] for k in object_server.keys(bucket)} >= set(files.values())
    shutil.rmtree(moved)
    with sessions() as session:
        row = register_model_row(session, files)
        with pytest.raises(ModelFileError, match="set OCCLAB_OBJECT_STORE here too"):
            local_dir(session, row, tmp_path / "no-store")
        folder = local_dir(session, row, tmp_path / "cache", objects)
    assert {p.name: sha256_file(p) for p in folder.iterdir()} == files
    assert "the" in read_vocab(folder)


def test_a_killed_fetchs_partial_copy_is_cleared_and_the_fetch_completes(
    sessions: sessionmaker[Session], moved: Path, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        files = dict(register_model(session, moved).files or {})
    shutil.rmtree(moved)
    cache = tmp_path / "cache"
    leftover = cache / f".partial-{files['manifest.json']}"
    leftover.mkdir(parents=True)
    (leftover / "vocab.txt").write_text("half a file")
    with sessions() as session:
        folder = local_dir(session, register_model_row(session, files), cache)
    assert {p.name: sha256_file(p) for p in folder.iterdir()} == files
    assert [p.name for p in cache.iterdir()] == [folder.name]


def test_a_second_process_waits_for_the_first_fetch_and_reads_its_copy(
    sessions: sessionmaker[Session], moved: Path, tmp_path: Path
) -> None:
    """While another process of the machine holds the cache's lock (as one fetching does),
    a fetch waits; once the lock is released it completes, once."""
    with sessions.begin() as session:
        files = dict(register_model(session, moved).files or {})
    shutil.rmtree(moved)
    cache = tmp_path / "cache"
    cache.mkdir()
    fetched: list[Path] = []

    def fetch() -> None:
        with sessions() as session:
            fetched.append(local_dir(session, register_model_row(session, files), cache))

    holder = os.open(cache, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    waiting = threading.Thread(target=fetch)
    waiting.start()
    waiting.join(timeout=1.0)
    assert waiting.is_alive() and not fetched and list(cache.iterdir()) == []
    os.close(holder)
    waiting.join(timeout=30)
    assert fetched == [cache / files["manifest.json"]]
