"""Shares of arbitrary deletions against brute force: one plain encoder pass per kept subset.

Small random encoders, so every subset of short texts is cheap to check: prefixes, suffixes,
holes at both ends and in the middle, single tokens, for 1, 2 and 3 layers, batched and in
chunks of a few rows.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import torch

from shared.engine import subsets
from shared.engine.classifier import FieldEncoder, pad_batch
from shared.engine.subsets import subset_scores

TOL = 1e-5


def every_subset(n: int) -> list[list[int]]:
    """Every proper non-empty subset of n positions, and the empty one."""
    return [list(c) for k in range(1, n) for c in combinations(range(n), k)] + [[]]


def brute(encoder, weight, seqs, variants) -> np.ndarray:
    kept = [seqs[b][torch.tensor(k, dtype=torch.long)] for b, k in variants]
    x, lengths = pad_batch(kept, encoder.vector_size)
    return (encoder(x, lengths) @ weight).double().numpy()


@pytest.fixture(params=[1, 2, 3], ids=["1-layer", "2-layer", "3-layer"])
def encoder(request) -> FieldEncoder:
    torch.manual_seed(request.param)
    enc = FieldEncoder(vector_size=5, hidden_size=4, num_layers=request.param)
    with torch.no_grad():  # larger weights: states far from zero, so errors would show
        for p in enc.parameters():
            p.mul_(3.0)
    return enc.eval()


@pytest.fixture
def seqs() -> list[torch.Tensor]:
    torch.manual_seed(0)
    return [torch.randn(n, 5) for n in (6, 1, 0, 7, 3)]


def _variants(seqs) -> list[tuple[int, list[int]]]:
    return [(b, k) for b, s in enumerate(seqs) for k in every_subset(len(s))]


@torch.inference_mode()
def test_every_subset_equals_brute_force(encoder, seqs):
    weight = torch.randn(8)
    variants = _variants(seqs)
    got = subset_scores(encoder, weight, seqs, variants)
    expected = brute(encoder, weight, seqs, variants)
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)
    empty = [v for v, (_, k) in enumerate(variants) if not k]
    assert all(got[v] == 0.0 for v in empty)  # nothing kept reads as nothing
    assert np.ptp(expected) > 0.1  # the variants differ, or the comparison would prove little


@torch.inference_mode()
def test_chunks_of_a_few_rows_equal_one_batch(encoder, seqs, monkeypatch):
    weight = torch.randn(8)
    variants = _variants(seqs)
    together = subset_scores(encoder, weight, seqs, variants)
    monkeypatch.setattr(subsets, "CELLS_PER_DELETION_CHUNK", {"cpu": 7})
    chunked = subset_scores(encoder, weight, seqs, variants)
    np.testing.assert_allclose(together, chunked, atol=1e-6, rtol=0)


@torch.inference_mode()
def test_nothing_to_run(encoder, seqs):
    assert subset_scores(encoder, torch.randn(8), seqs, [(0, []), (2, [])]).tolist() == [0, 0]
