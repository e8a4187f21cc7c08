"""The shared leave-one-out against brute force: one plain encoder pass per deleted sequence.

Small random encoders, so every kind of span is cheap to check: at the start, in the middle,
at the end, empty, the whole text, in texts of one token and in empty texts, for 1, 2 and 3
layers, batched and in chunks of a few rows; and the deletions that are not run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.engine import deletion
from shared.engine.classifier import FieldEncoder, pad_batch
from shared.engine.deletion import deletion_scores, unit_spans

TOL = 1e-5


def brute_scores(encoder, weight, seqs, spans) -> list[np.ndarray]:
    """Each deletion's logit share from its own forward pass over the kept tokens."""
    out = []
    for seq, sp in zip(seqs, spans, strict=True):
        kept = [torch.cat([seq[:s], seq[e:]]) for s, e in sp]
        x, lengths = pad_batch(kept, encoder.vector_size)
        out.append((encoder(x, lengths) @ weight).double().numpy())
    return out


def every_span(n: int) -> list[tuple[int, int]]:
    """All non-empty spans of a text of n tokens, and one empty span."""
    return [(s, e) for s in range(n) for e in range(s + 1, n + 1)] + [(n // 2, n // 2)]


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
    return [torch.randn(n, 5) for n in (7, 1, 0, 12, 3)]


@torch.inference_mode()
def test_every_span_equals_brute_force(encoder, seqs):
    weight = torch.randn(8)
    spans = [every_span(len(s)) for s in seqs]
    full = [{len(s): float(encoder(*pad_batch([s], 5)) @ weight)} for s in seqs]
    got = deletion_scores(encoder, weight, seqs, spans, full)
    expected = brute_scores(encoder, weight, seqs, spans)
    spread = 0.0
    for seq, g, b, f, sp in zip(seqs, got, expected, full, spans, strict=True):
        np.testing.assert_allclose(g[:-1], b[:-1], atol=TOL, rtol=0)
        assert g[-1] == f[len(seq)]  # the empty span is not run: the caller's share, exactly
        if len(seq):  # deleting the whole text leaves nothing: zero features
            assert g[sp.index((0, len(seq)))] == 0.0
        spread = max(spread, float(np.ptp(b)) if len(b) else 0.0)
    assert spread > 0.1  # the deletions differ, or the comparison would prove little


@torch.inference_mode()
def test_a_deletion_leaving_a_known_prefix_takes_its_share(encoder, seqs):
    """Only deletions reaching the end leave a prefix; the others are run."""
    weight = torch.randn(8)
    spans = [every_span(len(s)) for s in seqs]
    known = [{len(s): 5.0, 2: 7.0} for s in seqs]
    got = deletion_scores(encoder, weight, seqs, spans, known)
    expected = brute_scores(encoder, weight, seqs, spans)
    for seq, g, b, sp in zip(seqs, got, expected, spans, strict=True):
        for u, (s, e) in enumerate(sp):
            if s == e:
                assert g[u] == 5.0
            elif s == 2 and e == len(seq) and e > s:
                assert g[u] == 7.0
            else:
                assert g[u] == pytest.approx(b[u], abs=TOL)


@torch.inference_mode()
def test_deleting_everything_reads_as_nothing(encoder, seqs):
    weight = torch.randn(8)
    spans = [[(0, len(s))] for s in seqs]
    got = deletion_scores(encoder, weight, seqs, spans, [{len(s): 1.5} for s in seqs])
    for g, s in zip(got, seqs, strict=True):
        assert g[0] == (1.5 if len(s) == 0 else 0.0)  # an empty text's span is empty


@torch.inference_mode()
def test_chunks_of_a_few_rows_equal_one_batch(encoder, seqs, monkeypatch):
    weight = torch.randn(8)
    spans = [every_span(len(s)) for s in seqs]
    full = [{len(s): 0.0} for s in seqs]
    together = deletion_scores(encoder, weight, seqs, spans, full)
    monkeypatch.setattr(deletion, "CELLS_PER_DELETION_CHUNK", {"cpu": 9})
    chunked = deletion_scores(encoder, weight, seqs, spans, full)
    for a, b in zip(together, chunked, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


def test_unit_spans_count_known_tokens_only():
    known = [False, True, True, False, True, False]
    bounds = [0, 1, 3, 4, 6]  # units: [oov], [k, k], [oov], [k, oov]
    assert unit_spans(known, bounds) == [(0, 0), (0, 2), (2, 2), (2, 3)]
