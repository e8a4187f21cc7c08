"""Both poolings, 1-3 layers, one or two directions: the engine's prefixes and deletions
against a stock ``nn.LSTM`` run once per prefix or deleted text, and its ``out[:, -1, :]``
(last output) or ``h_n`` (final state)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from shared.engine import deletion, occlusion
from shared.engine.classifier import FINAL_STATE, LAST_OUTPUT, FieldEncoder, pad_batch
from shared.engine.deletion import deletion_scores
from shared.engine.occlusion import prefix_features

TOL = 1e-5
CONFIGS = list(itertools.product([1, 2, 3], [True, False], [FINAL_STATE, LAST_OUTPUT]))


def stock_lstm(encoder: FieldEncoder) -> nn.LSTM:
    """The encoder's weights in one stock ``nn.LSTM``, as a researcher's model holds them."""
    lstm = nn.LSTM(
        encoder.vector_size,
        encoder.hidden_size,
        num_layers=len(encoder.layers),
        bidirectional=encoder.bidirectional,
        batch_first=True,
    )
    with torch.no_grad():
        for n in range(len(encoder.layers)):
            parts = [("", encoder.layer(n).fwd), ("_reverse", encoder.layer(n).bwd)]
            for suffix, part in parts[: 2 if encoder.bidirectional else 1]:
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(lstm, f"{name}_l{n}{suffix}").copy_(getattr(part, f"{name}_l0"))
    return lstm.eval()


def reference(lstm: nn.LSTM, pooling: str, seq: torch.Tensor) -> torch.Tensor:
    """Features of one text by the stock module; an empty text reads as zeros."""
    width = (2 if lstm.bidirectional else 1) * lstm.hidden_size
    if len(seq) == 0:
        return torch.zeros(width)
    out, (h_n, _) = lstm(seq.unsqueeze(0))
    if pooling == LAST_OUTPUT:
        return out[0, -1]
    return h_n[-(2 if lstm.bidirectional else 1) :, 0].reshape(-1)


@pytest.fixture(params=CONFIGS, ids=lambda c: f"{c[0]}-layer-{'bi' if c[1] else 'uni'}-{c[2]}")
def encoder(request) -> FieldEncoder:
    layers, bidirectional, pooling = request.param
    torch.manual_seed(layers)
    enc = FieldEncoder(5, 4, layers, bidirectional, pooling)
    with torch.no_grad():  # larger weights: states far from zero, so errors would show
        for p in enc.parameters():
            p.mul_(3.0)
    return enc.eval()


@pytest.fixture
def seqs() -> list[torch.Tensor]:
    torch.manual_seed(0)
    return [torch.randn(n, 5) for n in (7, 1, 0, 12, 3)]


@torch.inference_mode()
def test_every_prefix_equals_the_stock_module(encoder, seqs):
    lstm = stock_lstm(encoder)
    prefixes = [list(range(len(s) + 1)) for s in seqs]
    got = prefix_features(encoder, seqs, prefixes)
    for seq, feats, ks in zip(seqs, got, prefixes, strict=True):
        expected = torch.stack([reference(lstm, encoder.pooling, seq[:k]) for k in ks])
        np.testing.assert_allclose(feats.numpy(), expected.numpy(), atol=TOL, rtol=0)
    # The plain path (what the runtime and contributions read) agrees as well.
    x, lengths = pad_batch(seqs, 5)
    plain = encoder(x, lengths)
    full = torch.stack([reference(lstm, encoder.pooling, s) for s in seqs])
    np.testing.assert_allclose(plain.numpy(), full.numpy(), atol=TOL, rtol=0)


@torch.inference_mode()
def test_prefixes_in_small_chunks_equal_one_batch(encoder, seqs, monkeypatch):
    prefixes = [list(range(len(s) + 1)) for s in seqs]
    whole = prefix_features(encoder, seqs, prefixes)
    monkeypatch.setitem(occlusion.CELLS_PER_CHUNK, "cpu", 5)
    for a, b in zip(prefix_features(encoder, seqs, prefixes), whole, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=TOL, rtol=0)


@torch.inference_mode()
def test_every_deletion_equals_the_stock_module(encoder, seqs, monkeypatch):
    lstm = stock_lstm(encoder)
    weight = torch.randn(encoder.width)
    spans = [[(s, e) for s in range(len(q)) for e in range(s + 1, len(q) + 1)] for q in seqs]
    full = [{len(q): float(reference(lstm, encoder.pooling, q) @ weight)} for q in seqs]
    monkeypatch.setitem(deletion.CELLS_PER_DELETION_CHUNK, "cpu", 20)  # several chunks
    got = deletion_scores(encoder, weight, seqs, spans, full)
    for q, g, sp in zip(seqs, got, spans, strict=True):
        kept = [torch.cat([q[:s], q[e:]]) for s, e in sp]
        expected = [float(reference(lstm, encoder.pooling, k) @ weight) for k in kept]
        np.testing.assert_allclose(g, expected, atol=TOL, rtol=0)


def test_the_poolings_differ_for_two_directions_only(seqs):
    torch.manual_seed(1)
    for bidirectional in (True, False):
        enc = FieldEncoder(5, 4, 2, bidirectional, FINAL_STATE).eval()
        last = FieldEncoder(5, 4, 2, bidirectional, LAST_OUTPUT).eval()
        last.load_state_dict(enc.state_dict())
        x, lengths = pad_batch(seqs[:1], 5)
        differ = not torch.allclose(enc(x, lengths), last(x, lengths))
        assert differ == bidirectional


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@torch.inference_mode()
def test_cuda_agrees_with_cpu(encoder, seqs):
    weight = torch.randn(encoder.width)
    prefixes = [list(range(len(s) + 1)) for s in seqs]
    spans = [[(s, e) for s in range(len(q)) for e in range(s + 1, len(q) + 1)] for q in seqs]
    full = [{len(q): 0.0} for q in seqs]  # (only the whole text's share; its value unused)
    cpu = (
        prefix_features(encoder, seqs, prefixes),
        deletion_scores(encoder, weight, seqs, spans, full),
    )
    gpu_enc, gpu_seqs = encoder.to("cuda"), [s.to("cuda") for s in seqs]
    got = (
        prefix_features(gpu_enc, gpu_seqs, prefixes),
        deletion_scores(gpu_enc, weight.to("cuda"), gpu_seqs, spans, full),
    )
    for a, b in zip(cpu[0], got[0], strict=True):
        np.testing.assert_allclose(a.numpy(), b.cpu().numpy(), atol=TOL, rtol=0)
    for a, b in zip(cpu[1], got[1], strict=True):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
