"""Reading a model directory's manifest and checking its files, without torch.

The web process registers models and shows their metrics through this module; only the
worker loads the weights (shared.engine.model_dir).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORMAT = "occlusion-lab-model/1"
WEIGHTS = "weights.safetensors"
VECTORS = "vectors.npy"
VOCAB = "vocab.txt"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"

# The two classes, by index: 1 is the positive class, the one P is the probability of.
CLASS_NAMES = ("not computational", "computational")
# Where a file or a JSON paper carries its label: the first of these that is given.
LABEL_KEYS = ("label", "class", "is_computational")
_LABEL_WORDS = {
    **{w: 0 for w in ("0", "false", "no", CLASS_NAMES[0])},
    **{w: 1 for w in ("1", "true", "yes", CLASS_NAMES[1])},
}


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
    return read_words(model_dir / VOCAB)


def read_words(vocab_file: Path) -> frozenset[str]:
    return frozenset(vocab_file.read_text(encoding="utf-8").splitlines())


class LabelError(ValueError):
    """A label that is not one of the model's two classes; the message says what is read."""


def parse_label(value: object) -> int | None:
    """A paper's label as a class index (0 or 1); None when blank. 0/1, true/false, yes/no
    and the class names are read, in any case; anything else is a :class:`LabelError`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in _LABEL_WORDS:
        return _LABEL_WORDS[value.strip().lower()]
    shown = repr(value)[:40]
    raise LabelError(
        f"label {shown} is not read: give 0 or 1, true or false, yes or no, "
        f"or {CLASS_NAMES[0]!r} or {CLASS_NAMES[1]!r} (or leave it blank)"
    )


def label_of(paper: Mapping[str, Any]) -> int | None:
    """The label of a paper given as a mapping (a JSON object, a file's row): the first of
    :data:`LABEL_KEYS` that is not blank."""
    for key in LABEL_KEYS:
        value = paper.get(key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return parse_label(value)
    return None
