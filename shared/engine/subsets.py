"""A field's logit share with any set of its tokens deleted, sharing what the deletion leaves
unchanged, exactly: the variants faithfulness reads (``faithfulness.py``).

This is leave-one-out's sharing (``deletion.py``) for a deletion of several spans. A variant
keeps the known tokens K (ascending) of a text x of N tokens: y = x[K], M = len(K) tokens. Let
P be the longest prefix of y that is x's own prefix (K[t] = t) and Q the longest suffix that
is x's own suffix (K[t] = N - M + t). Then, computed once per text and shared:

* Layer 1's input projections (each sees one token).
* Layer 1 forward over y[:P] is x's run over x[:P], and layer 1 backward over y[M-Q:] is x's
  over x[N-Q:]. So a variant runs layer 1 forward over y[P:] only, from x's state after
  x[P-1], and backward over y[:M-Q] only, from x's state after x[N-Q].
* Half of layer 2's input projection where layer 1's output is x's: the forward half before
  P, the backward half from M-Q on. Elsewhere both halves are the variant's own.

A leave-one-out deletion is the case P = M - Q = s. Layers 2 and up run over the whole of y,
all variants of a batch in one packed loop, longest first, in chunks of bounded size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from shared.engine.classifier import LAST_OUTPUT, FieldEncoder, pad_batch, weights
from shared.engine.deletion import (
    CELLS_PER_DELETION_CHUNK,
    _FirstLayer,
    _gates,
    _rows_of,
    _Whole,
    _whole,
)
from shared.engine.occlusion import Layout, chunks, layout, scan, upper_features
from shared.engine.occlusion import pick as _pick

# (text, kept known-token positions, ascending): one variant of one text.
Variant = tuple[int, Sequence[int] | np.ndarray]


@dataclass
class _Rows:
    """A chunk's variants, most tokens kept first: text from token ``base``, ``n`` tokens; it
    keeps ``m`` of them, tokens ``kept[at : at + m]`` (indices into the whole batch's rows);
    the first ``p`` and last ``q`` of them are x's own prefix and suffix."""

    base: Tensor
    n: Tensor
    m: Tensor
    p: Tensor
    q: Tensor
    at: Tensor
    kept: Tensor


def _rows(whole: _Whole, variants: Sequence[Variant], device: torch.device) -> _Rows:
    b = torch.tensor([v[0] for v in variants], device=device)
    kept = [np.asarray(v[1], dtype=np.int64) for v in variants]
    n = whole.lengths[b]
    m = torch.tensor([len(k) for k in kept], device=device)
    p, q = [], []
    for k, total in zip(kept, n.tolist(), strict=True):
        p.append(_run(k == np.arange(len(k))))
        q.append(_run((k == np.arange(len(k)) + total - len(k))[::-1]))
    at = torch.cumsum(m, 0) - m
    base = whole.start[b]
    flat = torch.from_numpy(np.concatenate(kept)).to(device) + torch.repeat_interleave(base, m)
    as_tensor = [torch.tensor(x, device=device) for x in (p, q)]
    return _Rows(base, n, m, as_tensor[0], as_tensor[1], at, flat)


def _run(match: np.ndarray) -> int:
    """How many leading entries are True."""
    return int(np.argmin(match)) if not match.all() else len(match)


def _first_layer(encoder: FieldEncoder, w: _Whole, r: _Rows) -> _FirstLayer:
    """Layer 1 forward over y[P:] from x's state after x[P-1], backward over y[:M-Q] from x's
    state after x[N-Q], both directions in one loop (rows paired by length)."""
    lens = torch.stack([r.m - r.p, r.m - r.q])
    lens, order = torch.sort(lens, dim=1, descending=True, stable=True)
    lay = layout(torch.maximum(lens[0], lens[1]))
    row, step = lay.row, lay.step
    tok = []
    for d, first in enumerate((r.at + r.p, r.at + r.m - r.q - 1)):  # each direction's first
        cell = first[order[d]].index_select(0, row) + (1 - 2 * d) * step
        # Cells past a direction's own end read token 0; nothing reads their outputs.
        inside = step < lens[d].index_select(0, row)
        cell = cell.clamp(0, len(r.kept) - 1)
        tok.append(torch.where(inside, r.kept.index_select(0, cell), 0))
    inputs = _gates(w.xg, tok)
    at, ok = [r.base + r.p - 1, r.base + r.n - r.q], [r.p > 0, r.q > 0]
    h0 = torch.stack([_pick(w.h[d], at[d], ok[d]) for d in (0, 1)])
    c0 = torch.stack([_pick(w.c[d], at[d], ok[d]) for d in (0, 1)])
    starts = (h0.gather(1, _rows_of(order, h0)), c0.gather(1, _rows_of(order, c0)))
    w_hh = torch.stack([weights(encoder.layer(0).fwd).w_hh, weights(encoder.layer(0).bwd).w_hh])
    outs, _, _ = scan(inputs, lay, w_hh, True, start=starts)
    assert outs is not None
    return _FirstLayer(outs, lay.offsets, torch.argsort(order, dim=1), h0)


def _first_features(first: _FirstLayer, r: _Rows) -> Tensor:
    """A one-layer encoder's features: each direction's last output, or, where its run was
    empty, the state it started from (x's own: the variant keeps that end whole)."""
    out = []
    for d, length in enumerate((r.m - r.p, r.m - r.q)):
        last = first.offsets[(length - 1).clamp(min=0)] + first.pos[d]
        last = last.clamp(max=first.outs.shape[1] - 1)
        ran = (length > 0).unsqueeze(1)
        out.append(torch.where(ran, first.outs[d].index_select(0, last), first.start[d]))
    return torch.cat(out, dim=1)


def _second_inputs(
    encoder: FieldEncoder, w: _Whole, first: _FirstLayer, r: _Rows, lay: Layout
) -> Tensor:
    """Layer 2's input gates [2, cells, 4H] in the packed layout of the variants: at each
    position t of y, the forward half of the projection from x's run (t < P) or the
    variant's, plus the backward half from x's run (t >= M - Q) or the variant's."""
    assert w.a is not None and w.w2 is not None
    row, t = lay.row, lay.step
    m, p, q = r.m[row], r.p[row], r.q[row]
    cells = first.outs.shape[1]
    # Per position, each half's row in this chunk's projections (``own``: the forward run's
    # cells, then the backward run's) and in x's (``w.a``: both halves stacked).
    # (Where a half comes from x these point anywhere valid: their rows are replaced.)
    f_own = (first.offsets[(t - p).clamp(min=0)] + first.pos[0, row]).clamp(max=cells - 1)
    b_own = first.offsets[(m - q - 1 - t).clamp(min=0)] + first.pos[1, row]
    b_own = cells + b_own.clamp(max=cells - 1)
    f_x, b_x = r.base[row] + t, w.h.shape[1] + r.base[row] + r.n[row] - m + t
    from_x = (t < p, t >= m - q)  # at most one of them: a variant deletes something
    # The backward direction's step t reads position m-1-t: the cell of that position.
    mirror = lay.offsets.index_select(0, m - 1 - t) + row
    up = [weights(encoder.layer(1).fwd).bias, weights(encoder.layer(1).bwd).bias]
    x = w.a.new_empty(2, len(t), w.a.shape[2])
    # Buffers reused across the two directions: a fresh large tensor costs page faults.
    own = x.new_empty(2, cells, x.shape[2])
    scratch = torch.empty_like(x[0])
    for d, at in ((0, None), (1, mirror)):
        # The forward half's projections carry the bias, the backward half's do not; x's
        # (``w.a``) carry it in both, so a backward half taken from x gives it back.
        bias = torch.stack([up[d], torch.zeros_like(up[d])]).unsqueeze(1)
        flat = torch.baddbmm(bias, first.outs, w.w2[d], out=own).view(-1, x.shape[2])
        fo, bo, fx, bx, use = (
            (f_own, b_own, f_x, b_x, from_x)
            if at is None
            else (f_own[at], b_own[at], f_x[at], b_x[at], (from_x[0][at], from_x[1][at]))
        )
        # Both halves the variant's own (most cells), then the cells with one half from x.
        torch.index_select(flat, 0, fo, out=x[d])
        x[d] += torch.index_select(flat, 0, bo, out=scratch)
        fixes: tuple[tuple[Tensor, Tensor, Tensor | float], ...] = ((fx, bo, 0.0), (bx, fo, up[d]))
        for half, (xi, other, fix) in enumerate(fixes):
            cell = torch.nonzero(use[half]).squeeze(1)
            if len(cell):
                shared = w.a[d].index_select(0, xi[cell]) - fix
                x[d].index_copy_(0, cell, shared + flat.index_select(0, other[cell]))
    return x


def _chunk_features(encoder: FieldEncoder, w: _Whole, r: _Rows) -> Tensor:
    """Features [rows, 2H] of the chunk's variants."""
    first = _first_layer(encoder, w, r)
    if len(encoder.layers) == 1:
        return _first_features(first, r)
    up = [weights(encoder.layer(1).fwd), weights(encoder.layer(1).bwd)]
    lay = layout(r.m)
    x = _second_inputs(encoder, w, first, r, lay)
    outs, final, _ = scan(x, lay, torch.stack([u.w_hh for u in up]), len(encoder.layers) > 2)
    if outs is None:
        return torch.cat([final[0], final[1]], dim=1)
    return upper_features(encoder, outs, lay, r.m)


def subset_scores(
    encoder: FieldEncoder,
    weight: Tensor,
    seqs: Sequence[Tensor],
    variants: Sequence[Variant],
    whole: _Whole | None = None,
) -> np.ndarray:
    """``out[v]`` = logit share of ``seqs[b]`` keeping only its tokens ``kept``, for each
    variant ``(b, kept)``. Deleting truly removes tokens; a variant that keeps nothing reads
    as nothing (a share of 0). Each variant must delete something (the whole text's share is
    the caller's, from the grid). ``whole`` is ``deletion._whole(encoder, seqs)`` if the
    caller has it already (leave-one-out's)."""
    out = np.zeros(len(variants))
    run = [v for v, (_, kept) in enumerate(variants) if len(kept)]
    if not run:
        return out
    device = seqs[0].device
    budget = CELLS_PER_DELETION_CHUNK.get(device.type, 30_000)
    by_length = sorted(((len(variants[v][1]), v) for v in run), reverse=True)
    if not encoder.bidirectional or encoder.pooling == LAST_OUTPUT:
        # The sharing here is written for our stacks; an imported one's variants run plain.
        for chunk in chunks(by_length, budget):
            kept = [
                seqs[variants[v][0]][
                    torch.as_tensor(variants[v][1], dtype=torch.long, device=device)
                ]
                for _, v in chunk
            ]
            x, lengths = pad_batch(kept, encoder.vector_size)
            feats = encoder(x.to(device), lengths.to(device))
            out[[v for _, v in chunk]] = (feats @ weight).double().cpu().numpy()
        return out
    whole = whole or _whole(encoder, seqs)
    for chunk in chunks(by_length, budget):
        r = _rows(whole, [variants[v] for _, v in chunk], device)
        scores = (_chunk_features(encoder, whole, r) @ weight).double().cpu().numpy()
        out[[v for _, v in chunk]] = scores
    return out
