"""Leave-one-out for stacks without a backward direction (their prefixes: ``occlusion.py``),
sharing what a deletion leaves unchanged, exactly.

Deleting tokens [s, e) of x leaves y = x[:s] + x[e:]. With no backward direction nothing
depends on where the text ends, so every layer over y[:s] is x's run over x[:s]: each layer
runs only over x[e:], from x's own state (h and c) after x[s-1] in that layer, N - e steps
where a plain run takes N - e + s. The whole texts' runs keep every layer's states for that
(our own ``scan``, since ``nn.LSTM`` keeps no cell states). A deletion at the end leaves a
prefix: x's state after x[s-1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from shared.engine.classifier import FieldEncoder, weights
from shared.engine.occlusion import layout, pick, scan


@dataclass
class Runs:
    """The whole texts' runs, tokens back to back (text b from row ``start[b]``): layer 1's
    input gates, and every layer's h and c after each token."""

    start: Tensor
    lengths: Tensor
    xg: Tensor  # [tokens, 4H]
    h: list[Tensor]  # per layer [tokens, H]
    c: list[Tensor]


def whole_runs(encoder: FieldEncoder, seqs: Sequence[Tensor]) -> Runs:
    """Every layer over every whole text (at least one of them not empty)."""
    device = seqs[0].device
    lengths = torch.tensor([len(s) for s in seqs], device=device)
    start = torch.cumsum(lengths, 0) - lengths
    k, order = torch.sort(lengths, descending=True, stable=True)
    k, base = k[k > 0], start[order[k > 0]]
    lay = layout(k)
    tok = base.index_select(0, lay.row) + lay.step  # the token each cell reads
    inputs, hs, cs = torch.cat(list(seqs)), [], []
    xg = inputs.new_empty(0)
    for n in range(len(encoder.layers)):
        w = weights(encoder.layer(n).fwd)
        gates = torch.addmm(w.bias, inputs, w.w_ih.t())
        xg = gates if n == 0 else xg
        outs, _, cells = scan(gates.index_select(0, tok)[None], lay, w.w_hh[None], True, cells=True)
        assert outs is not None and cells is not None
        h, c = (
            torch.zeros_like(gates[:, : encoder.hidden_size]),
            torch.zeros_like(gates[:, : encoder.hidden_size]),
        )
        h[tok], c[tok] = outs[0], cells[0]
        hs.append(h)
        cs.append(c)
        inputs = h
    return Runs(start, lengths, xg, hs, cs)


def deletion_features(
    encoder: FieldEncoder, runs: Runs, paper: Tensor, s: Tensor, e: Tensor
) -> Tensor:
    """Features [rows, H] of text ``paper[r]`` without its tokens [s[r], e[r])."""
    base, n = runs.start[paper], runs.lengths[paper]
    k, order = torch.sort(n - e, descending=True, stable=True)
    base, s, e = base[order], s[order], e[order]
    lay = layout(k.clamp(min=1))  # a deletion at the end runs one step that nothing reads
    tok = base.index_select(0, lay.row) + e.index_select(0, lay.row) + lay.step
    tok = torch.where(lay.step < k.index_select(0, lay.row), tok, 0)
    at, ok = base + s - 1, s > 0  # x's state after x[s-1]; zeros where s == 0
    inputs = runs.xg.index_select(0, tok)
    for layer in range(len(encoder.layers)):
        w = weights(encoder.layer(layer).fwd)
        if layer > 0:
            inputs = torch.addmm(w.bias, inputs, w.w_ih.t())
        h0, c0 = pick(runs.h[layer], at, ok), pick(runs.c[layer], at, ok)
        outs, _, _ = scan(inputs[None], lay, w.w_hh[None], True, start=(h0[None], c0[None]))
        assert outs is not None
        inputs = outs[0]
    last = inputs.index_select(
        0, lay.offsets[(k - 1).clamp(min=0)] + torch.arange(len(k), device=k.device)
    )
    feats = torch.where((k > 0).unsqueeze(1), last, pick(runs.h[-1], at, ok))
    return feats[torch.argsort(order)]
