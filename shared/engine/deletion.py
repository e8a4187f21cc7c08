"""Leave-one-out: a field's logit share with each unit deleted, sharing what a deletion leaves
unchanged, exactly.

Deleting the known tokens [s, e) of a text x of N tokens leaves y = x[:s] + x[e:], M = N - e + s
tokens. What y's run shares with x's, and so is computed once per text:

* Layer 1's input projections: each sees one token.
* Layer 1 forward over y[:s] is x's forward run over x[:s], and layer 1 backward over y[s:] is
  x's backward run from the end down to x[e]: each has read only tokens the deletion keeps.
  So a deletion runs layer 1 forward over x[e:] only, from x's forward state (h and c) after
  x[s-1], and backward over x[:s] only, from x's backward state after x[e]: M steps for the
  two directions together, where a plain run takes 2M.
* Layer 2 reads [layer 1 forward; layer 1 backward]. Before s the forward half is x's, from s
  on the backward half is, so half of each layer 2 direction's input projection comes from
  the per-text run; the other half is computed per deletion.
* Nothing more. Before s layer 2 reads a changed backward half, from s on a changed forward
  half, so every layer 2 state of either direction sees a change: both directions, and all
  layers above, run over the whole of y.

All deletions of a batch run together, in chunks of bounded size, longest first, rows dropping
out as they end (as the grid's prefixes do). Layer 1 runs its two directions in one loop, rows
paired by length (forward runs longest first beside backward runs longest first); a direction
shorter than its partner runs on past its end over token 0, and those cells are never read.

Last output (``occlusion.py``) changes the top layer's backward feature: one step on what
that layer reads at y's last position, so one layer runs no backward run, and two run layer 2
forward only. Unidirectional stacks share more, the same way (``unidirectional.py``).

A deletion that removes no known token changes nothing, so it is not run: its share is the
whole text's (the grid's), so its delta is exactly 0. Nor is one that leaves a prefix the grid
has scored (a unit at the end, or before units of unknown words only): its share is that
prefix's. One that leaves no known token reads as nothing (zero features).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from torch import Tensor

from shared.engine import unidirectional
from shared.engine.classifier import LAST_OUTPUT, FieldEncoder, weights
from shared.engine.occlusion import (
    CELLS_PER_CHUNK,
    Layout,
    chunks,
    layout,
    one_step,
    pick,
    scan,
    upper_features,
)

# A deletion's cell keeps about twice what a grid prefix's does (layer 1 outputs and both
# halves of layer 2's inputs), so a chunk holds half as many.
CELLS_PER_DELETION_CHUNK = {device: cells // 2 for device, cells in CELLS_PER_CHUNK.items()}


def unit_spans(known: Sequence[bool], bounds: Sequence[int]) -> list[tuple[int, int]]:
    """Per unit u (tokens bounds[u]:bounds[u+1]): the span of known-token positions it holds."""
    before = np.cumsum([0, *known]).tolist()
    return [(before[a], before[b]) for a, b in pairwise(bounds)]


@dataclass
class _Whole:
    """The whole texts' first layer, which every deletion starts from. Tensors hold the texts'
    tokens back to back (text b from row ``start[b]``); index 0 is forward, 1 backward."""

    start: Tensor  # [B]
    lengths: Tensor  # [B]
    xg: Tensor  # [tokens, 8H] input gates, W_ih x + biases: forward's, then backward's
    h: Tensor  # [2, tokens, H] outputs
    c: Tensor  # [2, tokens, H] cell states: where a deletion's run starts from
    w2: Tensor | None  # [2, 2, H, 4H] layer 2 direction d's weights on layer 1 direction j
    a: Tensor | None  # [2, 2 * tokens, 4H] per d: h[0] @ w2[d, 0], then h[1] @ w2[d, 1]; + biases


def _whole(encoder: FieldEncoder, seqs: Sequence[Tensor]) -> _Whole:
    device = seqs[0].device
    lengths = torch.tensor([len(s) for s in seqs], device=device)
    start = torch.cumsum(lengths, 0) - lengths
    first = [weights(encoder.layer(0).fwd), weights(encoder.layer(0).bwd)]
    x = torch.cat(list(seqs))
    w_ih, bias = torch.cat([w.w_ih for w in first]), torch.cat([w.bias for w in first])
    xg = torch.addmm(bias, x, w_ih.t())
    w_hh = torch.stack([w.w_hh for w in first])
    h, c = _whole_run(xg, w_hh, start, lengths)
    if len(encoder.layers) == 1:
        return _Whole(start, lengths, xg, h, c, None, None)
    up = [weights(encoder.layer(1).fwd), weights(encoder.layer(1).bwd)]
    hid = encoder.hidden_size
    # Split by the half of layer 2's input they read, and kept per direction so that the
    # per-cell gathers from them copy contiguous rows.
    w2 = torch.stack([u.w_ih.view(-1, 2, hid).permute(1, 2, 0) for u in up]).contiguous()
    a = h.new_empty(2, 2, len(xg), 4 * hid)
    for d, u in enumerate(up):
        torch.baddbmm(u.bias, h, w2[d], out=a[d])  # straight into place: no stacked copy
    return _Whole(start, lengths, xg, h, c, w2, a.view(2, -1, 4 * hid))


def _whole_run(xg: Tensor, w_hh: Tensor, start: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Layer 1 over each whole text, both directions in one loop: (h, c), each [2, tokens, H]
    in token order. Our own loop, not nn.LSTM's, because deletions start from its cell states."""
    h = xg.new_zeros(2, len(xg), w_hh.shape[2])
    c = torch.zeros_like(h)
    k, order = torch.sort(lengths, descending=True, stable=True)
    k, base = k[k > 0], start[order[k > 0]]
    if not len(k):
        return h, c
    lay = layout(k)
    tok = base.index_select(0, lay.row) + lay.step
    tok = torch.stack([tok, tok + k.index_select(0, lay.row) - 1 - 2 * lay.step])
    outs, _, cells = scan(_gates(xg, tok), lay, w_hh, True, cells=True)
    assert outs is not None and cells is not None
    for d in (0, 1):
        h[d, tok[d]], c[d, tok[d]] = outs[d], cells[d]
    return h, c


def _gates(xg: Tensor, tok: Sequence[Tensor] | Tensor) -> Tensor:
    """Input gates [2, cells, 4H] of layer 1 forward at tokens ``tok[0]``, backward at
    ``tok[1]``, gathered straight into one buffer: no stacked copy of a large tensor."""
    width = xg.shape[1] // 2
    out = xg.new_empty(2, len(tok[0]), width)
    for d in (0, 1):
        torch.index_select(xg[:, d * width : (d + 1) * width], 0, tok[d], out=out[d])
    return out


@dataclass
class _Rows:
    """A chunk's deletions, longest result first: text from token ``base``, ``n`` tokens long,
    tokens [s, e) removed; ``m`` tokens left."""

    base: Tensor
    n: Tensor
    s: Tensor
    e: Tensor

    @property
    def m(self) -> Tensor:
        return self.n - self.e + self.s


@dataclass
class _FirstLayer:
    """Layer 1's per-deletion runs: direction d of deletion i at step t is cell
    ``offsets[t] + pos[d, i]`` of ``outs`` [2, cells, H]; ``start`` [2, rows, H] holds the
    hidden state each run started from, per deletion."""

    outs: Tensor
    offsets: Tensor
    pos: Tensor
    start: Tensor


def _first_layer(encoder: FieldEncoder, w: _Whole, r: _Rows) -> _FirstLayer:
    """Layer 1 forward over x[e:] from x's state after x[s-1], backward over x[:s] from x's
    state after x[e], both directions in one loop (rows paired by length). One layer under
    last output needs no backward run (see ``_first_features``)."""
    skip = len(encoder.layers) == 1 and encoder.pooling == LAST_OUTPUT
    lens = torch.stack([r.n - r.e, torch.zeros_like(r.s) if skip else r.s])
    lens, order = torch.sort(lens, dim=1, descending=True, stable=True)
    lay = layout(torch.maximum(lens[0], lens[1]).clamp(min=1))  # (a step nothing reads)
    row, step = lay.row, lay.step
    first = [r.base + r.e, r.base + r.s - 1]  # each direction's first token
    tok = [first[d][order[d]].index_select(0, row) + (1 - 2 * d) * step for d in (0, 1)]
    # Cells past a direction's own end read token 0; nothing reads their outputs.
    tok = [torch.where(step < lens[d].index_select(0, row), tok[d], 0) for d in (0, 1)]
    inputs = _gates(w.xg, tok)
    at, ok = [r.base + r.s - 1, r.base + r.e], [r.s > 0, r.e < r.n]
    h0 = torch.stack([pick(w.h[d], at[d], ok[d]) for d in (0, 1)])
    c0 = torch.stack([pick(w.c[d], at[d], ok[d]) for d in (0, 1)])
    starts = (h0.gather(1, _rows_of(order, h0)), c0.gather(1, _rows_of(order, c0)))
    w_hh = torch.stack([weights(encoder.layer(0).fwd).w_hh, weights(encoder.layer(0).bwd).w_hh])
    outs, _, _ = scan(inputs, lay, w_hh, True, start=starts)
    assert outs is not None
    return _FirstLayer(outs, lay.offsets, torch.argsort(order, dim=1), h0)


def _rows_of(order: Tensor, t: Tensor) -> Tensor:
    """Gather index putting per-deletion rows of ``t`` [2, rows, H] in each direction's order."""
    return order.unsqueeze(2).expand(-1, -1, t.shape[2])


def _first_features(encoder: FieldEncoder, w: _Whole, first: _FirstLayer, r: _Rows) -> Tensor:
    """A one-layer encoder's features: each direction's last output, or, where its run was
    empty, the state it started from; under last output, backward is one step on y's end."""
    lens = torch.stack([r.n - r.e, r.s])
    out = []
    for d in (0, 1) if encoder.pooling != LAST_OUTPUT else (0,):
        # A run that never started has no cell: any valid index will do, where() drops it.
        last = first.offsets[(lens[d] - 1).clamp(min=0)] + first.pos[d]
        last = last.clamp(max=first.outs.shape[1] - 1)
        ran = (lens[d] > 0).unsqueeze(1)
        out.append(torch.where(ran, first.outs[d].index_select(0, last), first.start[d]))
    if encoder.pooling == LAST_OUTPUT:
        end = r.base + torch.where(r.e < r.n, r.n - 1, r.s - 1)  # y's last token
        out.append(one_step(w.xg[:, w.xg.shape[1] // 2 :].index_select(0, end)))
    return torch.cat(out, dim=1)


def _second_inputs(w: _Whole, first: _FirstLayer, r: _Rows, lay: Layout) -> Tensor:
    """Layer 2's input gates [2, cells, 4H] (forward, backward) in the packed layout of the
    deleted texts: x's shared half plus this deletion's half, at each position p of y."""
    assert w.a is not None and w.w2 is not None
    row, p = lay.row, lay.step
    s, e, base = r.s[row], r.e[row], r.base[row]
    before = p < s
    # Before s: x's forward output at p, and this deletion's backward run at step s-1-p;
    # from s on: x's backward output at its position e+p-s, and the forward run at step p-s.
    shared = torch.where(before, base + p, w.h.shape[1] + base + e + p - s)
    # (Rows of ``own`` below: the forward run's cells, then the backward run's.)
    back = first.offsets[(s - 1 - p).clamp(min=0)] + first.pos[1, row] + first.outs.shape[1]
    ahead = first.offsets[(p - s).clamp(min=0)] + first.pos[0, row]
    changed = torch.where(before, back, ahead)
    # The backward direction's step t reads position m-1-t: the cell of that position.
    mirror = lay.offsets.index_select(0, r.m.index_select(0, row) - 1 - p) + row
    x = w.a.new_empty(2, len(p), w.a.shape[2])
    # Buffers are reused across the two directions: a fresh large tensor costs page faults.
    own = x.new_empty(2, first.outs.shape[1], x.shape[2])
    scratch = torch.empty_like(x[0])
    for d, at in ((0, None), (1, mirror)):
        sh, ch = (shared, changed) if at is None else (shared[at], changed[at])
        torch.bmm(first.outs, w.w2[d], out=own)
        torch.index_select(w.a[d], 0, sh, out=x[d])
        x[d] += torch.index_select(own.view(-1, x.shape[2]), 0, ch, out=scratch)
    return x


def _chunk_features(encoder: FieldEncoder, w: _Whole, r: _Rows) -> Tensor:
    """Features [rows, 2H] of the chunk's deleted texts."""
    first = _first_layer(encoder, w, r)
    if len(encoder.layers) == 1:
        return _first_features(encoder, w, first, r)
    m = r.m
    lay = layout(m)
    up = [weights(encoder.layer(1).fwd), weights(encoder.layer(1).bwd)]
    x = _second_inputs(w, first, r, lay)
    if len(encoder.layers) == 2 and encoder.pooling == LAST_OUTPUT:
        # Layer 2's backward input at y's last position: step 0's cells, rows in order.
        _, final, _ = scan(x[:1], lay, up[0].w_hh[None], False)
        return torch.cat([final[0], one_step(x[1, : len(m)])], dim=1)
    outs, final, _ = scan(x, lay, torch.stack([u.w_hh for u in up]), len(encoder.layers) > 2)
    if outs is None:
        return torch.cat([final[0], final[1]], dim=1)
    return upper_features(encoder, outs, lay, m)


def _without_runs(
    seqs: Sequence[Tensor],
    spans: Sequence[Sequence[tuple[int, int]]],
    prefix_shares: Sequence[Mapping[int, float]],
) -> tuple[list[np.ndarray], list[tuple[int, int, int, int, int]]]:
    """The shares of deletions that need no run, zero for the others; and the others as
    (tokens left, text, unit, s, e)."""
    out = [np.zeros(len(sp)) for sp in spans]
    cut = []
    for b, sp in enumerate(spans):
        n, known = len(seqs[b]), prefix_shares[b]
        for u, (s, e) in enumerate(sp):
            prefix = n if s == e else s if e == n else -1  # what is left, if a prefix
            if prefix in known:
                out[b][u] = float(known[prefix])
            elif prefix != 0:  # (nothing left reads as nothing: zero features, a share of 0)
                cut.append((n - e + s, b, u, s, e))
    return out, cut


def deletion_scores(
    encoder: FieldEncoder,
    weight: Tensor,
    seqs: Sequence[Tensor],
    spans: Sequence[Sequence[tuple[int, int]]],
    prefix_shares: Sequence[Mapping[int, float]],
    whole: _Whole | None = None,
) -> list[np.ndarray]:
    """``out[b][u]`` = logit share of ``seqs[b]`` without its tokens ``spans[b][u]`` = (s, e).

    Deleting truly removes tokens (no zero vectors left in their place). ``prefix_shares[b]``
    holds the caller's shares of prefixes of ``seqs[b]`` by length (the grid's), the whole
    text's at least. A deletion that leaves one of them is not run: an empty span takes the
    whole text's share, so its delta is exactly 0; a span reaching the end takes that of the
    prefix before it. ``whole`` is ``_whole(encoder, seqs)`` if the caller has it already.
    """
    out, cut = _without_runs(seqs, spans, prefix_shares)
    if not cut:
        return out
    if encoder.bidirectional:
        whole, runs = whole or _whole(encoder, seqs), None
    else:
        whole, runs = None, unidirectional.whole_runs(encoder, seqs)
    device = seqs[0].device
    budget = CELLS_PER_DELETION_CHUNK.get(device.type, 30_000)
    for chunk in chunks(sorted(((row[0], v) for v, row in enumerate(cut)), reverse=True), budget):
        rows = [cut[v] for _, v in chunk]
        paper, s, e = (torch.tensor([row[j] for row in rows], device=device) for j in (1, 3, 4))
        if runs is not None:
            feats = unidirectional.deletion_features(encoder, runs, paper, s, e)
        else:
            assert whole is not None
            r = _Rows(whole.start[paper], whole.lengths[paper], s, e)
            feats = _chunk_features(encoder, whole, r)
        scores = (feats @ weight).double().cpu().numpy()
        for (_, b, u, _, _), score in zip(rows, scores, strict=True):
            out[b][u] = float(score)
    return out
