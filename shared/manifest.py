"""Reading a model directory's manifest and checking its files, without torch.

The web process registers models and shows their metrics through this module; only the
worker loads the weights (shared.engine.model_dir).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

FORMAT = "occlusion-lab-model/1"
WEIGHTS = "weights.safetensors"
VECTORS = "vectors.npy"
VOCAB = "vocab.txt"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"


class ModelFileError(RuntimeError):
    """A model directory that is missing, malformed or altered; the message says which file."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "manifest.json"
    if not path.is_file():
        raise ModelFileError(f"{model_dir} is not a model directory: it has no manifest.json")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an {FORMAT} manifest")
    return manifest


def verify_files(model_dir: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != {WEIGHTS, VECTORS, VOCAB}:
        raise ModelFileError(f"{model_dir}/manifest.json must list {WEIGHTS}, {VECTORS}, {VOCAB}")
    for name, expected in files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelFileError(f"{path} is missing")
        if sha256_file(path) != expected:
            raise ModelFileError(
                f"{path} does not match the sha256 in manifest.json: the file was altered "
                "or damaged; restore it or retrain the model"
            )


def read_vocab(model_dir: Path) -> frozenset[str]:
    """The model's known words, for checking input without loading the model."""
    return frozenset((model_dir / VOCAB).read_text(encoding="utf-8").splitlines())
