"""The occlusion math: P for every prefix of every field, in O(T + S) LSTM passes, exactly.

Why it is exact and cheap:

* Fields meet only in the linear head, and a two-class softmax is the sigmoid of the logit
  difference, so ``logit(i, j) = b + a_title[i] + a_abstract[j]`` where
  ``a_f[k] = w_f . features_f(first k units of f)``. A grid therefore needs each field's
  features for each of that field's prefixes (one batched pass per field), then a broadcast.
* Within a field, the first layer's forward direction over a prefix is the first steps of its
  run over the whole text, so it runs once; so do the input projections that depend only on
  the tokens (layer 1 backward) or on that shared forward run (half of layer 2's). Everything
  else sees where the prefix ends (the backward direction reads from there), so it runs once
  per prefix: all prefixes in one batch, longest first, rows dropping out as they end (as
  packing does), so no prefix ever reads a pad.
* A prefix with no known word reads as nothing: zero features, as in the plain model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from shared.engine.model import FieldEncoder, pad_batch, reverse_padded, run_direction, weights

# Rows x steps per packed chunk; bounds peak memory (about 2 KB per cell on CPU).
CELLS_PER_CHUNK = {"cpu": 120_000, "cuda": 4_000_000}


@dataclass
class _Shared:
    """Per-text work every prefix reuses: the first layer's forward run, and the input
    projections that do not depend on where the prefix ends. Tensors hold the texts' tokens
    back to back (no padding); text b starts at row ``start[b]``."""

    start: Tensor  # [B]
    fwd: Tensor  # [tokens, H] first layer, forward direction
    xg_bwd: Tensor  # [tokens, 4H] first layer, backward direction: W_ih x + biases
    a_fwd: Tensor | None  # [tokens, 4H] second layer, forward: its weights on fwd + biases
    a_bwd: Tensor | None  # [tokens, 4H] second layer, backward: likewise


def _shared(encoder: FieldEncoder, seqs: Sequence[Tensor]) -> _Shared:
    x, lengths = pad_batch(seqs, encoder.vector_size)
    x, lengths = x.to(seqs[0].device), lengths.to(seqs[0].device)
    start = torch.cumsum(lengths, 0) - lengths
    first = encoder.layer(0)
    full = lengths > 0
    fwd = x.new_zeros(0, encoder.hidden_size)
    if bool(full.any()):
        out = run_direction(first.fwd, x[full], lengths[full])[0]
        fwd = out[torch.arange(out.shape[1], device=x.device) < lengths[full].unsqueeze(1)]
    bwd = weights(first.bwd)
    xg_bwd = torch.cat(list(seqs)) @ bwd.w_ih.t() + bwd.bias
    if len(encoder.layers) == 1:
        return _Shared(start, fwd, xg_bwd, None, None)
    up_f, up_b, h = weights(encoder.layer(1).fwd), weights(encoder.layer(1).bwd), fwd.shape[1]
    a_fwd = fwd @ up_f.w_ih[:, :h].t() + up_f.bias
    a_bwd = fwd @ up_b.w_ih[:, :h].t() + up_b.bias
    return _Shared(start, fwd, xg_bwd, a_fwd, a_bwd)


def prefix_features(
    encoder: FieldEncoder, seqs: Sequence[Tensor], prefixes: Sequence[Sequence[int]]
) -> list[Tensor]:
    """``out[b][p]`` = the encoder's features for ``seqs[b][:prefixes[b][p]]``."""
    shared = _shared(encoder, seqs)
    device = shared.fwd.device
    wanted = sorted({(k, b) for b, ks in enumerate(prefixes) for k in ks if k > 0}, reverse=True)
    found: dict[tuple[int, int], Tensor] = {}
    for chunk in _chunks(wanted, CELLS_PER_CHUNK.get(device.type, 120_000)):
        base = shared.start[torch.tensor([b for _, b in chunk], device=device)]
        k = torch.tensor([k for k, _ in chunk], device=device)
        found.update(zip(chunk, _prefix_chunk(encoder, shared, base, k), strict=True))
    zero = shared.fwd.new_zeros(2 * encoder.hidden_size)
    return [
        torch.stack([found[(k, b)] if k > 0 else zero for k in ks])
        if ks
        else shared.fwd.new_zeros(0, 2 * encoder.hidden_size)
        for b, ks in enumerate(prefixes)
    ]


def _chunks(rows: list[tuple[int, int]], cells: int) -> list[list[tuple[int, int]]]:
    """Split (length, paper) rows, longest first, so rows x longest stays under ``cells``."""
    out: list[list[tuple[int, int]]] = [[]]
    for row in rows:
        if out[-1] and (len(out[-1]) + 1) * out[-1][0][0] > cells:
            out.append([])
        out[-1].append(row)
    return [c for c in out if c]


def _scan(
    step_input: Callable[[int, int], Tensor], active: list[int], w_hh: Tensor, outputs: bool
) -> tuple[Tensor | None, Tensor]:
    """The LSTM recurrence on rows sorted longest first, given each step's input gates.

    At step t only the first ``active[t]`` rows are still reading (packing's batch sizes);
    the others keep their final state, so no row ever reads a pad.
    """
    hidden = w_hh.shape[1]
    h = w_hh.new_zeros(active[0], hidden)
    c = torch.zeros_like(h)
    outs = w_hh.new_zeros(active[0], len(active), hidden) if outputs else None
    w_t = w_hh.t()
    for t, n in enumerate(active):
        i, f, g, o = torch.addmm(step_input(t, n), h[:n], w_t).chunk(4, 1)
        c_n = torch.sigmoid(f) * c[:n] + torch.sigmoid(i) * torch.tanh(g)
        h_n = torch.sigmoid(o) * torch.tanh(c_n)
        c[:n], h[:n] = c_n, h_n
        if outs is not None:
            outs[:n, t] = h_n
    return outs, h


def _prefix_chunk(encoder: FieldEncoder, s: _Shared, base: Tensor, k: Tensor) -> Tensor:
    """Features of the prefixes of length ``k[r]`` of the texts starting at token ``base[r]``,
    rows sorted longest first."""
    active = (k.unsqueeze(1) > torch.arange(int(k[0]), device=k.device)).sum(0).tolist()
    bwd = weights(encoder.layer(0).bwd)
    # Backward direction of layer 1: row r reads its text from position k[r]-1 down to 0.
    rev, h_b = _scan(
        lambda t, n: s.xg_bwd[base[:n] + k[:n] - 1 - t], active, bwd.w_hh, len(encoder.layers) > 1
    )
    if rev is None:
        return torch.cat([s.fwd[base + k - 1], h_b], dim=1)
    return _upper(encoder, s, base, k, active, rev)


def _upper(
    encoder: FieldEncoder, s: _Shared, base: Tensor, k: Tensor, active: list[int], rev: Tensor
) -> Tensor:
    """Layer 2 (and above) given layer 1's per-prefix backward outputs ``rev`` (read order)."""
    assert s.a_fwd is not None and s.a_bwd is not None
    a_fwd, a_bwd, h = s.a_fwd, s.a_bwd, encoder.hidden_size
    up_f, up_b = weights(encoder.layer(1).fwd), weights(encoder.layer(1).bwd)
    w_f, w_b = up_f.w_ih[:, h:].t(), up_b.w_ih[:, h:].t()
    rows = torch.arange(len(k), device=k.device)
    # Layer 2 reads [shared forward output; this prefix's backward output] at each position,
    # so only the second half of its input projection is computed per prefix.
    fwd_in = lambda t, n: torch.addmm(a_fwd[base[:n] + t], rev[rows[:n], k[:n] - 1 - t], w_f)  # noqa: E731
    bwd_in = lambda t, n: torch.addmm(a_bwd[base[:n] + k[:n] - 1 - t], rev[:n, t], w_b)  # noqa: E731
    deeper = len(encoder.layers) > 2
    out_f, h_f = _scan(fwd_in, active, up_f.w_hh, deeper)
    out_b, h_b = _scan(bwd_in, active, up_b.w_hh, deeper)
    if out_f is None or out_b is None:
        return torch.cat([h_f, h_b], dim=1)
    upper = torch.cat([out_f, reverse_padded(out_b, k)], dim=2)
    return encoder.encode(upper, k, start=2)[1]


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
    order = sorted(range(len(variants)), key=lambda v: len(variants[v][1]), reverse=True)
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
