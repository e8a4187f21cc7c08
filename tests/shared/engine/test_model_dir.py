"""Model directories: round trip, integrity checks and refusing anything that would unpickle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from shared.engine.model_dir import (
    VECTORS,
    ModelFileError,
    load_model_dir,
    save_model_dir,
    sha256_file,
)
from shared.engine.runtime import load_model
from tests.conftest import TOY_ABSTRACT, TOY_TITLE


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "model"
    shutil.copytree(tiny_model_dir, out)
    return out


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_round_trip_gives_identical_predictions(tiny_model, tmp_path):
    manifest = {k: v for k, v in tiny_model.manifest.items() if k not in ("files", "format")}
    save_model_dir(tmp_path / "again", tiny_model.classifier, tiny_model.vectors, manifest)
    again = load_model(tmp_path / "again", device="cpu")
    assert again.manifest["files"] == tiny_model.manifest["files"]
    assert list(again.vocab) == list(tiny_model.vocab)
    docs = [
        {"title": TOY_TITLE.lower().split(), "abstract": TOY_ABSTRACT.lower().split()},
        {"title": ["society"], "abstract": ["methods", "and", "data"]},
    ]
    np.testing.assert_array_equal(again.predict_batch(docs), tiny_model.predict_batch(docs))


def test_vectors_are_memory_mapped(tiny_model):
    assert isinstance(tiny_model.vectors.vectors, np.memmap)
    assert tiny_model.vectors.vectors.dtype == np.float16


@pytest.mark.parametrize(
    "name, offset",
    [("weights.safetensors", -5), ("vocab.txt", 3), ("vectors.npy", -1), ("vectors.npy", 200)],
)
def test_altered_file_is_refused_naming_it(model_copy, name, offset):
    path = model_copy / name
    _flip_byte(path, offset if offset >= 0 else path.stat().st_size + offset)
    with pytest.raises(ModelFileError, match=name.replace(".", r"\.")):
        load_model(model_copy)


def test_missing_file_is_refused(model_copy):
    (model_copy / "vocab.txt").unlink()
    with pytest.raises(ModelFileError, match=r"vocab\.txt"):
        load_model(model_copy)


def test_missing_manifest(model_copy):
    (model_copy / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"manifest\.json"):
        load_model(model_copy)


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "nowhere")


def test_bad_json_manifest(model_copy):
    (model_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(model_copy)


@pytest.mark.parametrize("fmt", ["occlusion-lab-model/2", None, 1])
def test_wrong_format_string(model_copy, fmt):
    path = model_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format"] = fmt
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="manifest"):
        load_model(model_copy)


def test_manifest_not_an_object(model_copy):
    (model_copy / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ModelFileError):
        load_model(model_copy)


def test_manifest_must_list_every_file(model_copy):
    path = model_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]["vocab.txt"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=r"vocab\.txt"):
        load_model(model_copy)


class _Tripwire:
    """Unpickling this creates a marker file: evidence that loading ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant_pickled_vectors(model_dir: Path, marker: Path) -> None:
    rows = len((model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines())
    arr = np.empty((rows, 16), dtype=object)
    arr[0, 0] = _Tripwire(marker)
    np.save(model_dir / VECTORS, arr, allow_pickle=True)
    # A stranger's directory has a manifest that matches its own files.
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"][VECTORS] = sha256_file(model_dir / VECTORS)
    path.write_text(json.dumps(manifest))


def test_pickled_vectors_are_refused_without_running_code(model_copy, tmp_path):
    marker = tmp_path / "unpickled"
    _plant_pickled_vectors(model_copy, marker)
    with pytest.raises((ModelFileError, ValueError)):
        load_model_dir(model_copy)
    assert not marker.exists()


def test_pickled_vectors_raise_model_file_error(model_copy, tmp_path):
    """A malformed model directory is a ModelFileError (what the CLI and worker catch)."""
    marker = tmp_path / "unpickled"
    _plant_pickled_vectors(model_copy, marker)
    with pytest.raises(ModelFileError, match=r"vectors\.npy"):
        load_model_dir(model_copy)
    assert not marker.exists()


def test_weights_of_another_architecture_are_refused(model_copy):
    path = model_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["architecture"]["hidden_size"] = 9
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=r"weights\.safetensors"):
        load_model(model_copy)


def test_vocabulary_not_matching_the_vectors_is_a_model_file_error(model_copy):
    """A directory whose files match its manifest but not each other is malformed."""
    vocab = model_copy / "vocab.txt"
    vocab.write_text(vocab.read_text(encoding="utf-8") + "extraword\n", encoding="utf-8")
    path = model_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["vocab.txt"] = sha256_file(vocab)
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=r"vocab\.txt"):
        load_model(model_copy)
