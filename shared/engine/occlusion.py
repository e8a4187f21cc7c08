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
  packing does), so no prefix ever reads a pad. Layer 2's two directions run in the same
  loop (a batched matrix product), halving the Python steps that bound small inputs.
* Last output (the seed author's pooling, ``out[:, -1, :]``) reads each direction's output
  at the prefix's last position. The forward one is the final state, as above. The backward
  one has read only the last position, so the top layer's is one LSTM step from the zero
  state (``one_step``) on what that layer reads there: for one layer, the last token's
  vector, so no per-prefix run at all; for two, [layer 1 forward (shared), layer 1 backward]
  there, where layer 1 backward still runs per prefix (layer 2's forward reads it at every
  position) but layer 2's backward run is one step. Layers above the second run as plain
  packed LSTMs, pooled as the model says.
* Unidirectional stacks have no backward direction: every layer's run over a prefix is the
  first steps of its run over the whole text, so one plain run per text gives every prefix
  (and the two poolings coincide).
* A prefix with no known word reads as nothing: zero features, as in the plain model, under
  either pooling (the seed author's module cannot run an empty sequence at all).

Leave-one-out builds on the same packed recurrence (``scan``) in ``deletion.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from shared.engine.classifier import (
    LAST_OUTPUT,
    FieldEncoder,
    pad_batch,
    run_direction,
    weights,
)

# Tokens read per chunk (summed over its prefixes); bounds peak memory,
# about 7 KB a token with the default model.
CELLS_PER_CHUNK = {"cpu": 60_000, "cuda": 2_000_000}


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
    if not encoder.bidirectional:
        return _unidirectional_prefixes(encoder, seqs, prefixes)
    shared = _shared(encoder, seqs)
    device = shared.fwd.device
    wanted = sorted({(k, b) for b, ks in enumerate(prefixes) for k in ks if k > 0}, reverse=True)
    found: dict[tuple[int, int], Tensor] = {}
    for chunk in chunks(wanted, CELLS_PER_CHUNK.get(device.type, 60_000)):
        base = shared.start[torch.tensor([b for _, b in chunk], device=device)]
        k = torch.tensor([k for k, _ in chunk], device=device)
        found.update(zip(chunk, _prefix_chunk(encoder, shared, base, k), strict=True))
    zero = shared.fwd.new_zeros(encoder.width)
    return [
        torch.stack([found[(k, b)] if k > 0 else zero for k in ks])
        if ks
        else shared.fwd.new_zeros(0, encoder.width)
        for b, ks in enumerate(prefixes)
    ]


def _unidirectional_prefixes(
    encoder: FieldEncoder, seqs: Sequence[Tensor], prefixes: Sequence[Sequence[int]]
) -> list[Tensor]:
    """Without a backward direction every layer's run over a prefix is the first steps of its
    run over the whole text: a prefix's features are that run's top output at its last
    token (zeros for an empty prefix)."""
    x, lengths = pad_batch(seqs, encoder.vector_size)
    outs = encoder.outputs(x.to(seqs[0].device), lengths.to(seqs[0].device))[0]
    padded = torch.cat([outs.new_zeros(len(seqs), 1, encoder.width), outs], dim=1)
    at = [torch.tensor(ks, dtype=torch.long, device=padded.device) for ks in prefixes]
    return [padded[b, idx] for b, idx in enumerate(at)]


def chunks(rows: list[tuple[int, int]], cells: int) -> list[list[tuple[int, int]]]:
    """Split (length, paper) rows, longest first, so each chunk reads at most ``cells`` tokens
    (or is one row)."""
    out: list[list[tuple[int, int]]] = [[]]
    total = 0
    for row in rows:
        if out[-1] and total + row[0] > cells:
            out.append([])
            total = 0
        out[-1].append(row)
        total += row[0]
    return [c for c in out if c]


@dataclass
class Layout:
    """Rows sorted longest first, stored packed and time-major (as a PackedSequence): step t
    holds rows 0..active[t]-1 at cells offset[t].. . ``row``/``step`` name each cell."""

    active: list[int]
    offset: list[int]
    offsets: Tensor
    row: Tensor
    step: Tensor


def layout(k: Tensor) -> Layout:
    steps = torch.arange(int(k[0]), device=k.device)
    active = (k.unsqueeze(0) > steps.unsqueeze(1)).sum(1)
    offsets = torch.cumsum(active, 0) - active
    step = torch.repeat_interleave(steps, active)
    row = torch.arange(len(step), device=k.device) - offsets[step]
    return Layout(active.tolist(), offsets.tolist(), offsets, row, step)


def pick(t: Tensor, at: Tensor, ok: Tensor) -> Tensor:
    """Rows ``at`` of ``t`` where ``ok``, else zeros (the state before a text's first token)."""
    picked = t.index_select(0, at.clamp(0, len(t) - 1))
    return torch.where(ok.unsqueeze(1), picked, torch.zeros_like(picked))


def scan(
    inputs: Tensor,
    lay: Layout,
    w_hh: Tensor,
    outputs: bool,
    start: tuple[Tensor, Tensor] | None = None,
    cells: bool = False,
) -> tuple[Tensor | None, Tensor, Tensor | None]:
    """The LSTM recurrence for D directions at once, given every cell's input gates.

    ``inputs`` is [D, cells, 4H] in the packed layout (a step's input is a view) and
    ``w_hh`` [D, 4H, H]. At step t only the first ``active[t]`` rows are still reading; the
    others keep their final state, so no row ever reads a pad. ``start`` is the state (h, c)
    before the first step, each [D, rows, H] (zeros if None). Returns (outputs [D, cells, H]
    or None, final states [D, rows, H], cell states [D, cells, H] if ``cells`` else None).
    """
    hidden = w_hh.shape[2]
    if start is None:
        h = inputs.new_zeros(inputs.shape[0], lay.active[0], hidden)
        c = torch.zeros_like(h)
    else:
        h, c = start[0].clone(), start[1].clone()
    outs = inputs.new_zeros(*inputs.shape[:2], hidden) if outputs else None
    c_outs = inputs.new_zeros(*inputs.shape[:2], hidden) if cells else None
    w_t = w_hh.transpose(1, 2)
    # Gate order i, f, g, o as in nn.LSTM. Few ops a step: at small batches their count,
    # not the arithmetic, is what a step costs.
    i, f, g, o = (slice(j * hidden, (j + 1) * hidden) for j in range(4))
    for n, at in zip(lay.active, lay.offset, strict=True):
        gates = torch.baddbmm(inputs[:, at : at + n], h[:, :n], w_t)
        sig = torch.sigmoid(gates)
        c[:, :n] = torch.addcmul(sig[..., f] * c[:, :n], sig[..., i], torch.tanh(gates[..., g]))
        h[:, :n] = sig[..., o] * torch.tanh(c[:, :n])
        if outs is not None:
            outs[:, at : at + n] = h[:, :n]
        if c_outs is not None:
            c_outs[:, at : at + n] = c[:, :n]
    return outs, h, c_outs


def one_step(gates: Tensor) -> Tensor:
    """An LSTM's output after one step from the zero state, given that step's input gates
    (W_ih x + biases): with h = c = 0 the recurrent term and the forget gate drop out."""
    i, _, g, o = gates.chunk(4, dim=-1)
    return torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(g))


def _prefix_chunk(encoder: FieldEncoder, s: _Shared, base: Tensor, k: Tensor) -> Tensor:
    """Features of the prefixes of length ``k[r]`` of the texts starting at token ``base[r]``,
    rows sorted longest first."""
    last = base + k - 1
    if len(encoder.layers) == 1 and encoder.pooling == LAST_OUTPUT:
        return torch.cat([s.fwd[last], one_step(s.xg_bwd[last])], dim=1)
    lay = layout(k)
    k_cell, base_cell = k.index_select(0, lay.row), base.index_select(0, lay.row)
    back = base_cell + k_cell - 1 - lay.step  # token each cell reads, going backwards
    bwd = weights(encoder.layer(0).bwd)
    deeper = len(encoder.layers) > 1
    rev, h_b, _ = scan(s.xg_bwd.index_select(0, back)[None], lay, bwd.w_hh[None], deeper)
    if rev is None:
        return torch.cat([s.fwd[last], h_b[0]], dim=1)
    return _upper_layers(encoder, s, lay, rev[0], base, k)


def _upper_layers(
    encoder: FieldEncoder, s: _Shared, lay: Layout, rev: Tensor, base: Tensor, k: Tensor
) -> Tensor:
    """Layer 2 and above, given layer 1's per-prefix backward outputs ``rev`` [cells, H]."""
    assert s.a_fwd is not None and s.a_bwd is not None
    h = encoder.hidden_size
    up_f, up_b = weights(encoder.layer(1).fwd), weights(encoder.layer(1).bwd)
    k_cell, base_cell = k.index_select(0, lay.row), base.index_select(0, lay.row)
    # The cell of the backward run that read the token this cell's forward step reads.
    mirror = lay.offsets.index_select(0, k_cell - 1 - lay.step) + lay.row
    top = len(encoder.layers) == 2
    one = top and encoder.pooling == LAST_OUTPUT  # layer 2's backward is one step
    # Layer 2 reads [shared forward output; this prefix's backward output] at each position,
    # so only the second half of its input projection is computed per prefix.
    x = rev.new_empty(1 if one else 2, len(lay.step), 4 * h)
    forward_at = s.a_fwd.index_select(0, base_cell + lay.step)
    torch.addmm(forward_at, rev.index_select(0, mirror), up_f.w_ih[:, h:].t(), out=x[0])
    if one:
        # What layer 2 reads at each prefix's last position: step 0's cells, rows in order.
        gates = torch.addmm(s.a_bwd[base + k - 1], rev[: len(k)], up_b.w_ih[:, h:].t())
        _, final, _ = scan(x, lay, up_f.w_hh[None], False)
        return torch.cat([final[0], one_step(gates)], dim=1)
    back = base_cell + k_cell - 1 - lay.step
    torch.addmm(s.a_bwd.index_select(0, back), rev, up_b.w_ih[:, h:].t(), out=x[1])
    outs, final, _ = scan(x, lay, torch.stack([up_f.w_hh, up_b.w_hh]), not top)
    if outs is None:
        return torch.cat([final[0], final[1]], dim=1)
    return upper_features(encoder, outs, lay, k)


def upper_features(encoder: FieldEncoder, outs: Tensor, lay: Layout, k: Tensor) -> Tensor:
    """Features of the layers above the second, from its packed outputs ``outs``
    [2, cells, H] (forward; backward, its step t reading position k - 1 - t) of rows of
    lengths ``k``, longest first."""
    h = encoder.hidden_size
    upper = outs.new_zeros(len(k), int(k[0]), 2 * h)
    upper[lay.row, lay.step, :h] = outs[0]
    upper[lay.row, k.index_select(0, lay.row) - 1 - lay.step, h:] = outs[1]
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
