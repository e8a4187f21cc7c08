"""A model is a directory: manifest.json, safetensors weights, and word vectors.

Nothing here unpickles, and every file's sha256 is checked against the manifest on load, so a
model directory from a stranger can neither run code nor be silently altered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import DTypeLike
from safetensors.torch import load_file, save_file

from shared.engine.classifier import Architecture, Classifier
from shared.engine.vectors import load_vectors, save_vectors
from shared.manifest import (
    DEFAULT_MODEL_DIR,
    FORMAT,
    VECTORS,
    VOCAB,
    WEIGHTS,
    ModelFileError,
    read_manifest,
    sha256_file,
    verify_files,
)

__all__ = ["DEFAULT_MODEL_DIR", "ModelFileError", "load_model_dir", "save_model_dir"]


def save_model_dir(
    out: Path,
    classifier: Classifier,
    kv: Any,
    info: dict[str, Any],
    vectors_dtype: DTypeLike = np.float16,
) -> dict[str, Any]:
    """Write a model directory; ``info`` holds name, version, metrics and training (or
    import) details."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in classifier.state_dict().items()}
    save_file(state, str(out / WEIGHTS))
    save_vectors(kv, out / VECTORS, out / VOCAB, vectors_dtype)
    manifest = {
        "format": FORMAT,
        **info,
        "architecture": classifier.arch.to_json(),
        "files": {n: sha256_file(out / n) for n in (WEIGHTS, VECTORS, VOCAB)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def load_model_dir(model_dir: Path) -> tuple[Classifier, Any, dict[str, Any]]:
    """(classifier in eval mode on CPU, KeyedVectors memory-mapped, manifest), all verified."""
    manifest = read_manifest(model_dir)
    verify_files(model_dir, manifest)
    try:
        arch = Architecture.from_json(manifest["architecture"])
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{model_dir}/manifest.json: bad architecture: {exc}") from exc
    classifier = Classifier(arch)
    state = load_file(str(model_dir / WEIGHTS))
    try:
        classifier.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    except RuntimeError as exc:
        raise ModelFileError(f"{model_dir / WEIGHTS} does not fit the architecture: {exc}") from exc
    try:
        kv = load_vectors(model_dir / VECTORS, model_dir / VOCAB)
    except ValueError as exc:  # e.g. a pickled array, refused rather than unpickled
        raise ModelFileError(f"{model_dir / VECTORS}: {exc}") from exc
    if kv.vector_size != arch.vector_size:
        raise ModelFileError(
            f"{model_dir / VECTORS} has {kv.vector_size}-d vectors, "
            f"the architecture expects {arch.vector_size}"
        )
    return classifier.eval(), kv, manifest
