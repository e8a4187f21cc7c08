"""Word vectors: gensim KeyedVectors stored without pickle and loaded memory-mapped.

gensim's own ``KeyedVectors.load`` unpickles, which would let a model file from a stranger
run code, so a model directory keeps the matrix as a plain ``.npy`` and the words as text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors
from numpy.typing import DTypeLike


def save_vectors(
    kv: KeyedVectors, matrix_path: Path, vocab_path: Path, dtype: DTypeLike = np.float16
) -> None:
    """Write the vectors as a ``.npy`` (float16: ours are trained for it; an imported model
    keeps float32, to read exactly as its author's) and the vocabulary one word a line."""
    np.save(matrix_path, np.asarray(kv.vectors, dtype=dtype), allow_pickle=False)
    vocab_path.write_text("\n".join(kv.index_to_key) + "\n", encoding="utf-8")


def load_vectors(matrix_path: Path, vocab_path: Path) -> KeyedVectors:
    """Load vectors saved by :func:`save_vectors`, memory-mapped and never unpickled."""
    matrix = np.load(matrix_path, mmap_mode="r", allow_pickle=False)
    words = vocab_path.read_text(encoding="utf-8").splitlines()
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(
            f"{matrix_path.name} holds {matrix.shape} vectors but {vocab_path.name} lists "
            f"{len(words)} words: the model directory is inconsistent"
        )
    kv = KeyedVectors(vector_size=matrix.shape[1], count=0, dtype=matrix.dtype)
    kv.index_to_key = words
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.vectors = matrix
    return kv


def rounded(kv: KeyedVectors) -> KeyedVectors:
    """A float32 copy of ``kv`` rounded through float16, as a saved model will see it."""
    out = KeyedVectors(vector_size=kv.vector_size, count=0)
    out.index_to_key = list(kv.index_to_key)
    out.key_to_index = dict(kv.key_to_index)
    out.vectors = np.asarray(kv.vectors, dtype=np.float16).astype(np.float32)
    return out
