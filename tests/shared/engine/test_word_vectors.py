"""Training options: where the word vectors come from, boilerplate stripped from the training
text, and a split that stays fixed while the seed changes."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from shared.engine.dataset import read_labelled_csv
from shared.engine.options import TrainConfig
from shared.engine.runtime import load_model
from shared.engine.word_vectors import (
    MINILM_PACKAGE,
    common_words,
    train_vectors,
    vocabulary,
    word_pieces,
)
from tests.shared.cli.test_engine_commands import assert_bad_input, occlab

SENTENCES = [["social", "media", "use"], ["social", "networks"], ["media", "effects", "social"]]
SMALL = TrainConfig(vector_size=8, w2v_epochs=2)


def _manifest(model_dir: Path) -> dict:
    return json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))


def test_word_pieces_greedy_longest_match_as_bert():
    pieces = {w: i for i, w in enumerate(["git", "##hub", "##h", "un", "##want", "##ed", "-", "e"])}
    assert word_pieces("github", pieces) == [0, 1]
    assert word_pieces("unwanted", pieces) == [3, 4, 5]
    # Our tokens keep inner hyphens; BERT splits them off as pieces of their own.
    assert word_pieces("git-unwanted", pieces) == [0, 6, 3, 4, 5]
    # Accents are stripped, as by the uncased tokenizer.
    assert word_pieces("é", pieces) == [7]
    assert word_pieces("gitx", pieces) == []  # BERT's [UNK]: no vector


def test_vocabulary_keeps_every_training_word_most_frequent_first():
    assert vocabulary(SENTENCES, 0) == ["social", "media", "use", "networks", "effects"]


def test_word2vec_keeps_words_seen_twice_and_refuses_extra_words():
    kv = train_vectors(SENTENCES, SMALL)
    assert sorted(kv.index_to_key) == ["media", "social"]
    with pytest.raises(ValueError, match="extra_words"):
        train_vectors(SENTENCES, replace(SMALL, extra_words=5))


def test_fasttext_gives_once_seen_words_vectors_rounded_to_float16():
    kv = train_vectors(SENTENCES, replace(SMALL, vectors="fasttext"))
    assert kv.index_to_key == vocabulary(SENTENCES, 0)
    assert kv.vectors.shape == (5, 8)
    assert (kv.vectors.astype("float16").astype("float32") == kv.vectors).all()
    assert kv.vectors.std() > 0


def test_stripped_training_text_keeps_the_same_papers(data_path):
    kept = read_labelled_csv(data_path, keep_boilerplate=True)
    stripped = read_labelled_csv(data_path, keep_boilerplate=False)
    assert [p.title for p in kept] == [p.title for p in stripped]
    # "[No abstract available]" papers stay, read as their title alone, as the service does.
    assert sum(not p.tokens["abstract"] for p in kept) == 0
    assert sum(not p.tokens["abstract"] for p in stripped) == 295  # of 308 rows, deduplicated
    count = lambda ps, w: sum(p.tokens["abstract"].count(w) for p in ps)  # noqa: E731
    assert (count(kept, "copyright"), count(stripped, "copyright")) == (190, 0)
    assert (count(kept, "psycinfo"), count(stripped, "psycinfo")) == (30, 1)
    assert count(stripped, "data") == count(kept, "data")


@pytest.mark.slow
def test_fasttext_model_trains_loads_and_records_its_recipe(train_tiny):
    model_dir = train_tiny("tiny-fasttext", vectors="fasttext", limit=120)
    m = _manifest(model_dir)
    assert m["training"]["config"]["vectors"] == "fasttext"
    assert m["training"]["config"]["keep_boilerplate"] is False
    model = load_model(model_dir, device="cpu")
    # Every training word has a vector, once-seen ones included: more than word2vec keeps.
    assert len(model.vocab) == m["vectors"]["count"] > m["training"]["vocabulary"] / 2
    assert 0.0 <= model.predict("Social media use", "We study networks.") <= 1.0


@pytest.mark.slow
def test_the_seed_leaves_the_split_and_hidden_sets_the_width(train_tiny, tiny_model_dir):
    other = _manifest(train_tiny("tiny-wide", seed=14, hidden_size=12))
    base = _manifest(tiny_model_dir)
    assert other["training"]["split"] == base["training"]["split"]  # the same test papers
    assert other["architecture"]["hidden_size"] == 12
    assert other["training"]["config"]["split_seed"] == 13
    moved = _manifest(train_tiny("tiny-split", split_seed=14))["training"]["split"]
    assert moved["test_sha256"] != base["training"]["split"]["test_sha256"]


def test_cli_refuses_extra_words_for_word2vec(data_path, tmp_path):
    result = occlab("train", "--data", data_path, "--out", tmp_path / "m", "--extra-words", "10")
    assert_bad_input(result, "--extra-words", "fasttext or minilm")


@pytest.mark.skipif(
    importlib.util.find_spec(MINILM_PACKAGE) is None, reason="the train extra is not installed"
)
def test_minilm_vectors_spell_unknown_words_from_word_pieces():
    kv = train_vectors(SENTENCES, replace(SMALL, vectors="minilm", extra_words=3000))
    assert kv.vector_size == 384
    assert {"social", "media", "stuff"} <= set(kv.index_to_key)
    assert len(common_words(3000)) == 3000
