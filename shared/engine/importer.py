"""Bring your own model: a researcher's PyTorch state dict and word2vec vectors, converted
into a model directory (``model_dir.py``), so the engine, the worker and every view treat it
as they treat ours.

Nothing is unpickled: the checkpoint is read by ``torch.load(weights_only=True)``, which
refuses any object but tensors and plain containers, and the vectors by gensim's word2vec
reader (text or binary), never ``KeyedVectors.load``. The directory is written beside
``out`` and renamed into place, so a failed import leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gensim.models import KeyedVectors

from shared.engine.classifier import Classifier
from shared.engine.import_spec import ImportProblem, Spec, convert_state, parse_spec
from shared.engine.model_dir import save_model_dir
from shared.manifest import sha256_file

__all__ = ["ImportProblem", "import_model", "load_checkpoint", "read_word2vec"]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A state dict of tensors, loaded without unpickling any object."""
    if not path.is_file():
        raise ImportProblem(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise ImportProblem(
            f"{path} is not a plain state_dict file (torch.load with weights_only=True "
            f"refused it: {_first_line(exc)}); save it with torch.save(model.state_dict())"
        ) from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ImportProblem(
            f"{path} holds a {type(state).__name__}, not a state_dict of tensors; save it "
            "with torch.save(model.state_dict())"
        )
    return state


def _is_binary(path: Path) -> bool:
    """word2vec's text format has ``count dims`` then one line of a word and dims numbers;
    the binary one has raw float32 bytes after the word."""
    with path.open("rb") as fh:
        header, first = fh.readline(), fh.readline(1 << 20)
    try:
        count, dims = (int(v) for v in header.split())
    except ValueError:
        raise ImportProblem(
            f"{path} is not a word2vec file: its first line must be '<words> <dimensions>' "
            "(text or binary word2vec; gensim's own pickled files are refused)"
        ) from None
    try:
        parts = first.decode("utf-8").split()
        [float(v) for v in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return True
    return not (count > 0 and len(parts) == dims + 1)


def read_word2vec(path: Path, binary: bool | None, lowercase: bool) -> tuple[KeyedVectors, str]:
    """(float32 vectors keyed as the tokenizer's tokens, the file's format)."""
    if not path.is_file():
        raise ImportProblem(f"{path}: no such vectors file")
    binary = _is_binary(path) if binary is None else binary
    fmt = "binary" if binary else "text"
    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    except Exception as exc:  # gensim raises ValueError, UnicodeDecodeError, EOFError...
        raise ImportProblem(f"{path} is not a {fmt} word2vec file: {_first_line(exc)}") from exc
    if not np.isfinite(kv.vectors).all():
        raise ImportProblem(f"{path} has vectors that are NaN or infinite")
    return _as_tokens(kv, path, lowercase), fmt


def _as_tokens(kv: KeyedVectors, path: Path, lowercase: bool) -> KeyedVectors:
    """Keep the words a token can be: the tokenizer lower-cases and splits on spaces. Of
    words that coincide once lower-cased the first is kept (word2vec lists the most
    frequent first)."""
    if not lowercase and (cased := [w for w in kv.index_to_key if w != w.lower()]):
        raise ImportProblem(
            f"spec key 'lowercase' is false, but the tokenizer lower-cases every word, so "
            f"{len(cased)} words of {path.name} with capitals (e.g. {cased[0]!r}) could never "
            "be read: set it to true"
        )
    keep: dict[str, int] = {}
    for i, word in enumerate(kv.index_to_key):
        token = word.lower()
        if token and not any(c.isspace() for c in token):
            keep.setdefault(token, i)
    if not keep:
        raise ImportProblem(f"{path} holds no word the tokenizer could produce")
    out = KeyedVectors(vector_size=kv.vector_size, count=0)
    out.index_to_key = list(keep)
    out.key_to_index = {w: i for i, w in enumerate(keep)}
    out.vectors = np.asarray(kv.vectors[list(keep.values())], dtype=np.float32)
    return out


def _sources(checkpoint: Path, vectors: Path, spec_path: Path, fmt: str) -> dict[str, Any]:
    return {
        "checkpoint": {"file": checkpoint.name, "sha256": sha256_file(checkpoint)},
        "vectors": {"file": vectors.name, "sha256": sha256_file(vectors), "format": fmt},
        "spec": {"file": spec_path.name, "sha256": sha256_file(spec_path)},
    }


def import_model(
    checkpoint: Path,
    vectors: Path,
    spec_path: Path,
    out: Path,
    name: str,
    version: str,
    binary: bool | None = None,
) -> dict[str, Any]:
    """Check and convert; write the model directory ``out``; return its manifest."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ImportProblem(f"{out} already exists and is not empty: choose a new --out")
    if not spec_path.is_file():
        raise ImportProblem(f"{spec_path}: no such spec file")
    spec: Spec = parse_spec(spec_path.read_text(encoding="utf-8", errors="replace"))
    state = load_checkpoint(checkpoint)
    kv, fmt = read_word2vec(vectors, binary, spec.lowercase)
    arch, weights = convert_state(state, spec, kv.vector_size)
    classifier = Classifier(arch)
    classifier.load_state_dict(weights)  # strict: convert_state names every key
    info = {
        "name": name,
        "version": version,
        "metrics": {},
        "tokenizer": "shared.text.tokenize",
        "vectors": {"dtype": "float32", "count": len(kv.index_to_key)},
        "imported": {
            "spec": spec.to_json(),
            "sources": _sources(checkpoint, vectors, spec_path, fmt),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        manifest = save_model_dir(staging, classifier, kv, info, vectors_dtype=np.float32)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
