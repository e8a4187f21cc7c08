"""The occlusion math: P for every prefix of every field, in O(T + S) LSTM passes, exactly.

Why it is exact and cheap:

* Fields meet only in the linear head, and a two-class softmax is the sigmoid of the logit
  difference, so ``logit(i, j) = b + a_title[i] + a_abstract[j]`` where
  ``a_f[k] = w_f . features_f(first k units of f)``. A grid therefore needs each field's
  features for each of that field's prefixes (one batched pass per field), then a broadcast.
* Within a field, the first layer's forward direction over a prefix is the first steps of its
  run over the whole text, so it runs once. Everything else sees where the prefix ends (the
  backward direction reads from there), so it runs once per prefix, packed in one batch.
* A prefix with no known word reads as nothing: zero features, as in the plain model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from shared.engine.model import FieldEncoder, pad_batch, reverse_padded, run_direction

# Rows x steps per packed chunk; bounds peak memory (about 2 KB per cell on CPU).
CELLS_PER_CHUNK = {"cpu": 120_000, "cuda": 4_000_000}


def prefix_features(
    encoder: FieldEncoder, seqs: Sequence[Tensor], prefixes: Sequence[Sequence[int]]
) -> list[Tensor]:
    """``out[b][p]`` = the encoder's features for ``seqs[b][:prefixes[b][p]]``."""
    vector_size = encoder.vector_size
    x, lengths = pad_batch(seqs, vector_size)
    x, lengths = x.to(seqs[0].device), lengths.to(seqs[0].device)
    fwd_out = torch.zeros(*x.shape[:2], encoder.hidden_size, device=x.device)
    full = lengths > 0
    if bool(full.any()):
        fwd_out[full] = run_direction(encoder.layer(0).fwd, x[full], lengths[full])[0]
    wanted = sorted({(k, b) for b, ks in enumerate(prefixes) for k in ks if k > 0})
    found: dict[tuple[int, int], Tensor] = {}
    for chunk in _chunks(wanted, CELLS_PER_CHUNK.get(x.device.type, 120_000)):
        pb = torch.tensor([b for _, b in chunk], device=x.device)
        k = torch.tensor([k for k, _ in chunk], device=x.device)
        feats = _prefix_chunk(encoder, x, fwd_out, pb, k)
        found.update(zip(chunk, feats, strict=True))
    zero = x.new_zeros(2 * encoder.hidden_size)
    return [
        torch.stack([found[(k, b)] if k > 0 else zero for k in ks]) if ks else x.new_zeros(0, 2)
        for b, ks in enumerate(prefixes)
    ]


def _chunks(rows: list[tuple[int, int]], cells: int) -> list[list[tuple[int, int]]]:
    """Split (length, paper) rows, sorted by length, so rows x longest stays under ``cells``."""
    out: list[list[tuple[int, int]]] = [[]]
    for row in rows:
        if out[-1] and (len(out[-1]) + 1) * row[0] > cells:
            out.append([])
        out[-1].append(row)
    return [c for c in out if c]


def _prefix_chunk(
    encoder: FieldEncoder, x: Tensor, fwd_out: Tensor, pb: Tensor, k: Tensor
) -> Tensor:
    """Features of prefixes ``x[pb[r], :k[r]]`` given the shared first-layer forward run."""
    steps = torch.arange(int(k.max()), device=x.device)
    # Row r of the backward input reads x[pb[r]] from position k[r]-1 down to 0.
    source = (k.unsqueeze(1) - 1 - steps.unsqueeze(0)).clamp(min=0)
    bwd_rev, h_bwd = run_direction(encoder.layer(0).bwd, x[pb.unsqueeze(1), source], k)
    if len(encoder.layers) == 1:
        return torch.cat([fwd_out[pb, k - 1], h_bwd], dim=1)
    first = torch.cat([fwd_out[pb][:, : len(steps)], reverse_padded(bwd_rev, k)], dim=2)
    return encoder.encode(first, k, start=1)[1]


def field_scores(
    encoder: FieldEncoder, weight: Tensor, seqs: Sequence[Tensor], prefixes: Sequence[Sequence[int]]
) -> list[np.ndarray]:
    """Each prefix's additive share of the logit: ``w_f . features_f(prefix)``."""
    feats = prefix_features(encoder, seqs, prefixes)
    return [(f @ weight).double().cpu().numpy() for f in feats]


def grid_probabilities(bias: float, scores: Sequence[np.ndarray]) -> np.ndarray:
    """The broadcast: P[i, j, ...] = sigmoid(b + s_0[i] + s_1[j] + ...)."""
    logit = np.asarray(bias, dtype=np.float64)
    for axis, s in enumerate(scores):
        shape = [1] * len(scores)
        shape[axis] = len(s)
        logit = logit + s.reshape(shape)
    return 1.0 / (1.0 + np.exp(-logit))


def without_unit(known: Sequence[bool], bounds: Sequence[int], u: int) -> list[int]:
    """Positions (among known tokens) left when unit ``u`` (tokens bounds[u]:bounds[u+1]) goes."""
    before = sum(known[: bounds[u]])
    removed = sum(known[bounds[u] : bounds[u + 1]])
    total = sum(known)
    return list(range(before)) + list(range(before + removed, total))


def deletion_scores(
    encoder: FieldEncoder,
    weight: Tensor,
    seqs: Sequence[Tensor],
    keep: Sequence[Sequence[list[int]]],
) -> list[np.ndarray]:
    """``out[b][u]`` = logit share of ``seqs[b]`` keeping only positions ``keep[b][u]``.

    Deleting truly removes tokens from the sequence (no zero vectors left in their place).
    """
    variants = [(b, k) for b, ks in enumerate(keep) for k in ks]
    order = sorted(range(len(variants)), key=lambda v: len(variants[v][1]))
    flat = np.zeros(len(variants))
    vector_size = encoder.vector_size
    budget = CELLS_PER_CHUNK.get(seqs[0].device.type, 120_000) if seqs else 1
    for chunk in _chunks([(max(1, len(variants[v][1])), v) for v in order], budget):
        idx = [v for _, v in chunk]
        picked = [seqs[variants[v][0]][torch.tensor(variants[v][1], dtype=torch.long)] for v in idx]
        x, lengths = pad_batch(picked, vector_size)
        device = seqs[0].device
        flat[idx] = (encoder(x.to(device), lengths.to(device)) @ weight).double().cpu().numpy()
    out, start = [], 0
    for ks in keep:
        out.append(flat[start : start + len(ks)])
        start += len(ks)
    return out
