"""Training: reproducible weights, an honest manifest, the split, the metric and the data reader."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from shared.engine.dataset import read_labelled_csv, stratified_split
from shared.engine.model_dir import sha256_file
from shared.engine.train import roc_auc


def _manifest(model_dir: Path) -> dict:
    return json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_same_seed_gives_identical_weights(tiny_model_dir, train_tiny):
    again = train_tiny("tiny-again")
    first, second = _manifest(tiny_model_dir), _manifest(again)
    assert first["files"]["weights.safetensors"] == second["files"]["weights.safetensors"]
    assert first["files"] == second["files"]
    assert sha256_file(again / "weights.safetensors") == second["files"]["weights.safetensors"]


@pytest.mark.slow
def test_other_seed_gives_other_weights(tiny_model_dir, train_tiny):
    other = train_tiny("tiny-seed", seed=14)
    assert (
        _manifest(other)["files"]["weights.safetensors"]
        != _manifest(tiny_model_dir)["files"]["weights.safetensors"]
    )


def test_manifest_metrics_and_training(tiny_model_dir, data_path):
    m = _manifest(tiny_model_dir)
    test = m["metrics"]["test"]
    assert 0.0 <= test["accuracy"] <= 1.0
    assert 0.0 <= test["roc_auc"] <= 1.0
    assert m["training"]["data_sha256"] == sha256_file(data_path)
    split = m["training"]["split"]
    papers = read_labelled_csv(data_path, limit=300, seed=13)
    assert split["train"] + split["val"] + split["test"] == len(papers) == 300
    assert test["n"] == split["test"]
    assert m["architecture"]["hidden_size"] == 8
    assert m["architecture"]["vector_size"] == 16
    assert m["vectors"]["count"] == len(
        (tiny_model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    )


def test_split_is_stratified_and_complete(data_path):
    papers = read_labelled_csv(data_path)
    split = stratified_split(papers, seed=13)
    parts = (split.train, split.val, split.test)
    assert sum(len(p) for p in parts) == len(papers)
    assert {id(p) for part in parts for p in part} == {id(p) for p in papers}
    overall = np.mean([p.label for p in papers])
    for part in parts:
        assert abs(np.mean([p.label for p in part]) - overall) <= 0.05
    assert abs(len(split.train) / len(papers) - 0.8) < 0.01


def test_split_is_seeded(data_path):
    papers = read_labelled_csv(data_path, limit=200, seed=1)
    a, b = stratified_split(papers, seed=3), stratified_split(papers, seed=3)
    c = stratified_split(papers, seed=4)
    assert [p.title for p in a.test] == [p.title for p in b.test]
    assert [p.title for p in a.test] != [p.title for p in c.test]


def _pairwise_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_roc_auc_by_hand_with_ties():
    labels = np.array([1, 1, 0, 0, 1, 0])
    scores = np.array([0.8, 0.4, 0.4, 0.2, 0.8, 0.9])
    # Positives 0.8, 0.4, 0.8 against negatives 0.4, 0.2, 0.9: 2 + 1.5 + 2 wins of 9.
    assert roc_auc(labels, scores) == pytest.approx(5.5 / 9)


def test_roc_auc_edges_and_random_cases():
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    assert roc_auc(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(0, 2, 40)
        labels[:2] = [0, 1]
        scores = rng.integers(0, 6, 40) / 5  # many ties
        assert roc_auc(labels, scores) == pytest.approx(_pairwise_auc(labels, scores))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["title", "abstract", "class"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_read_labelled_csv_drops_duplicates_and_strips_title(tmp_path):
    rows = [
        {"title": "Social media use", "abstract": "Social media use. We study it.", "class": "1"},
        {"title": "Social media use", "abstract": "We study it.", "class": "1"},
        {"title": "SOCIAL MEDIA USE ", "abstract": "we study it.", "class": "0"},
        {"title": "Soil chemistry", "abstract": "Soil chemistry. Nitrogen matters.", "class": "0"},
        # Only the export's "title. " form is a prefix; an abstract that merely begins with
        # the title's words keeps them.
        {"title": "Soil", "abstract": "Soil pH varies.", "class": "0"},
        {"title": "Empty abstract", "abstract": "  ", "class": "0"},
    ]
    papers = read_labelled_csv(_write_csv(tmp_path / "l.csv", rows))
    assert [(p.title, p.abstract, p.label) for p in papers] == [
        ("Social media use", "We study it.", 1),
        ("Soil chemistry", "Nitrogen matters.", 0),
        ("Soil", "Soil pH varies.", 0),
    ]
    assert papers[0].tokens == {
        "title": ["social", "media", "use"],
        "abstract": ["we", "study", "it"],
    }


def test_real_data_has_no_duplicates_or_title_prefixes(data_path):
    papers = read_labelled_csv(data_path)
    keys = Counter((p.title.lower(), p.abstract.lower()) for p in papers)
    assert max(keys.values()) == 1
    with data_path.open(newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    assert len(papers) <= len(raw)
    prefixed = sum(r["abstract"].startswith(r["title"]) for r in raw)
    assert prefixed > 0
    assert sum(p.abstract.startswith(p.title + ".") for p in papers) == 0
    assert {p.label for p in papers} == {0, 1}


def test_limit_is_a_seeded_sample(data_path):
    a = read_labelled_csv(data_path, limit=50, seed=2)
    b = read_labelled_csv(data_path, limit=50, seed=2)
    c = read_labelled_csv(data_path, limit=50, seed=3)
    assert len(a) == 50
    assert [p.title for p in a] == [p.title for p in b] != [p.title for p in c]


def test_default_model_roc_auc(default_model_dir, data_path):
    m = _manifest(default_model_dir)
    assert m["metrics"]["test"]["roc_auc"] >= 0.95
    if m["training"]["config"].get("limit") is None:
        split = m["training"]["split"]
        assert split["train"] + split["val"] + split["test"] == len(read_labelled_csv(data_path))
