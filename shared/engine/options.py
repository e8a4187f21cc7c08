"""Training and architecture options with their defaults, stated once and torch-free, so
``occlab train --help`` can show them without loading torch."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.units import FIELDS


class VectorKind(StrEnum):
    """Where the word vectors come from (``shared.engine.word_vectors``)."""

    WORD2VEC = "word2vec"  # trained on the training split; words seen twice
    FASTTEXT = "fasttext"  # trained there too, with subword n-grams for rare and extra words
    MINILM = "minilm"  # all-MiniLM-L6-v2's word-piece input embeddings, averaged per word


@dataclass
class TrainConfig:
    seed: int = 13  # the weights' initialisation, batch order and word vectors
    split_seed: int = 13  # which papers are train, validation and test (and --limit's sample)
    vectors: str = VectorKind.WORD2VEC.value
    vector_size: int = 200  # word2vec and fasttext; minilm's vectors are its own 384
    extra_words: int = 0  # fasttext and minilm: also give vectors to this many common words
    hidden_size: int = 128
    num_layers: int = 2
    max_epochs: int = 15
    patience: int = 3
    batch_size: int = 32
    learning_rate: float = 2e-3
    w2v_epochs: int = 15
    keep_boilerplate: bool = False  # train on placeholders and publisher lines as text
    limit: int | None = None  # use only this many papers (quick runs and tests)
    name: str = "default"
    version: str = "1.0.0"
    fields: tuple[str, ...] = FIELDS
