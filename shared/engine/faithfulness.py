"""How faithful an explanation is: ERASER's comprehensiveness and sufficiency, their AOPC, the
deletion curve and the minimal flip, by truly deleting the units the explanation ranks first.

Units are every field's units together (title, then abstract), ranked by their support for
the predicted class c (1 if P >= 0.5): support = P_c(whole paper) - P_c(without the unit),
from leave-one-out; ties keep the fields' order, then the units'. A field left with no known
token reads as nothing, as everywhere in the engine.

Fields meet only in the head, so a variant of a paper is a variant of each field, and each
field's distinct variants, over the whole batch, go through ``subsets.subset_scores`` once.
The deletion curve's variants are nested: deleting the top k units leaves, in each field,
that field's units minus its first j ranked, so a field of U units has U + 1 of them
whatever the paper's number of units. Variants already scored are not run again: nothing
kept (0), everything kept, a prefix (the grid's shares) and one unit deleted (leave-one-out's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from shared.engine.batch import PaperInput, Scores, _Batch, _grid_scores, _head, _prepare, _units
from shared.engine.deletion import _Whole, unit_spans
from shared.engine.runtime import Model
from shared.engine.subsets import Variant, subset_scores
from shared.units import FieldUnits

QS = ("0.1", "0.2", "0.3", "0.4", "0.5")  # as the JSON keys them; exact, so ceil is exact
RANDOM_SEEDS = 10

Ranked = list[tuple[int, int]]  # (field index, unit index), best first


@dataclass
class Reuse:
    """What leave-one-out computed that faithfulness reads again, per field: each one-unit
    deletion's logit share (per paper, per unit) and the whole texts' first layer."""

    shares: Scores = field(default_factory=dict)
    wholes: dict[str, _Whole] = field(default_factory=dict)


def top_k(q: str, n: int) -> int:
    """k = ceil(q x n), exactly (0.3 x 10 is 3, not 3.0000000000000004 rounded up)."""
    return math.ceil(Fraction(q) * n)


@dataclass
class MinimalFlip:
    """The fewest top-ranked units whose deletion flips the decision, and P after it."""

    k: int
    units: list[dict[str, Any]]  # field, index, text
    probability: float


@dataclass
class Faithfulness:
    """P_c is the probability of the predicted class ``predicted``; ``deletion_curve[k-1]``
    is P_c with the top k units deleted, k = 1 .. the number of units."""

    predicted: int
    ranking: Ranked
    comprehensiveness: dict[str, float]
    sufficiency: dict[str, float]
    deletion_curve: np.ndarray
    minimal_flip: MinimalFlip | None

    @property
    def aopc_comprehensiveness(self) -> float:
        return float(np.mean(list(self.comprehensiveness.values())))

    @property
    def aopc_sufficiency(self) -> float:
        return float(np.mean(list(self.sufficiency.values())))


def rank_units(supports: Sequence[np.ndarray]) -> Ranked:
    """Units by support, largest first; ties: earlier field first, then lower index."""
    units = [(f, u) for f, s in enumerate(supports) for u in range(len(s))]
    return sorted(units, key=lambda fu: -float(supports[fu[0]][fu[1]]))  # stable


@dataclass
class _Plan:
    """One paper's variants: per field, masks of the units kept; per row, a mask per field."""

    masks: list[list[np.ndarray]]
    rows: list[tuple[int, ...]]

    def add(self, kept: Sequence[np.ndarray]) -> None:
        index = []
        for f, mask in enumerate(kept):
            index.append(len(self.masks[f]))
            self.masks[f].append(mask)
        self.rows.append(tuple(index))


def _kept_only(ranked: Ranked, k: int, sizes: Sequence[int]) -> list[np.ndarray]:
    masks = [np.zeros(n, dtype=bool) for n in sizes]
    for f, u in ranked[:k]:
        masks[f][u] = True
    return masks


def _deleted(ranked: Ranked, k: int, sizes: Sequence[int]) -> list[np.ndarray]:
    return [~m for m in _kept_only(ranked, k, sizes)]


def _curve_plan(ranked: Ranked, sizes: Sequence[int]) -> _Plan:
    """Rows 0..n-1: the top k = 1..n units deleted; per field its U + 1 nested masks."""
    plan = _Plan([[np.ones(n, dtype=bool)] for n in sizes], [])
    for f, u in ranked:
        mask = plan.masks[f][-1].copy()
        mask[u] = False
        plan.masks[f].append(mask)
        plan.rows.append(tuple(len(m) - 1 for m in plan.masks))
    return plan


def _known_shares(
    spans: list[tuple[int, int]], grid: dict[int, float], loo: np.ndarray | None
) -> tuple[np.ndarray, Callable[[np.ndarray], float | None]]:
    """A field's shares that need no run, found from a mask of kept units (or None)."""
    sizes = np.array([e - s for s, e in spans], dtype=np.int64)
    total = int(sizes.sum())

    def known(mask: np.ndarray) -> float | None:
        kept = int(sizes[mask].sum())
        if kept == 0:
            return 0.0
        if kept == total:
            return grid[total]
        gone = np.flatnonzero(~mask & (sizes > 0))
        if not (mask & (sizes > 0))[gone[0] :].any() and kept in grid:  # a prefix: the grid's
            return grid[kept]
        if len(gone) == 1 and loo is not None:
            return float(loo[gone[0]])
        return None

    return sizes, known


def _field_known(
    model: Model, split: FieldUnits, full: np.ndarray, loo: np.ndarray | None
) -> tuple[np.ndarray, Callable[[np.ndarray], float | None]]:
    """A field's known-token count per unit, and its shares that need no run."""
    known_words = [t in model.vocab for t in split.tokens]
    bounds = np.cumsum([0] + [len(u) for u in split.units]).tolist()
    grid = {0: 0.0, **dict(zip(split.prefix_lengths, full, strict=True))}
    return _known_shares(unit_spans(known_words, bounds), grid, loo)


@torch.inference_mode()
def _probabilities(
    model: Model, batch: _Batch, full: Scores, reuse: Reuse, plans: Sequence[_Plan]
) -> list[np.ndarray]:
    """P (positive class) for every row of every paper's plan: per field, its distinct
    variants over the batch in one ``subset_scores`` pass."""
    weights, bias = _head(model)
    logits = [np.full(len(p.rows), bias) for p in plans]
    for n, f in enumerate(model.fields):
        variants: list[Variant] = []
        found: dict[tuple[int, bytes], int] = {}
        shares = [np.zeros(len(plan.masks[n])) for plan in plans]  # per paper, per mask
        run: list[tuple[int, int, int]] = []  # (paper, mask, variant) of the shares to run
        for b, plan in enumerate(plans):
            loo_f = reuse.shares[f][b] if f in reuse.shares else None
            sizes, known = _field_known(model, batch.splits[b][n], full[f][b], loo_f)
            for i, mask in enumerate(plan.masks[n]):
                share = known(mask)
                if share is not None:
                    shares[b][i] = share
                    continue
                kept = np.flatnonzero(np.repeat(mask, sizes))
                v = found.setdefault((b, kept.tobytes()), len(variants))
                if v == len(variants):
                    variants.append((b, kept))
                run.append((b, i, v))
        encoder = model.classifier.encoder(f)
        scored = subset_scores(encoder, weights[f], batch.seqs[f], variants, reuse.wholes.get(f))
        for b, i, v in run:
            shares[b][i] = scored[v]
        for b, plan in enumerate(plans):
            logits[b] += shares[b][[row[n] for row in plan.rows]]
    return [1.0 / (1.0 + np.exp(-x)) for x in logits]


def _summary(
    model: Model, batch: _Batch, b: int, p_full: float, ranked: Ranked, probs: np.ndarray
) -> Faithfulness:
    """A paper's figures from P of its plan's rows: the curve (n rows), then sufficiency's."""
    c = int(p_full >= 0.5)
    n = len(ranked)
    pc, pc_full = (probs, p_full) if c else (1.0 - probs, 1.0 - p_full)
    curve = pc[:n]
    comp = {q: float(pc_full - curve[top_k(q, n) - 1]) for q in QS}
    suff = {q: float(pc_full - pc[n + i]) for i, q in enumerate(QS)}
    flips = np.flatnonzero((probs[:n] >= 0.5) != bool(c))
    flip = None
    if len(flips):
        k = int(flips[0]) + 1
        units = [
            {"field": model.fields[f], "index": u, "text": batch.splits[b][f].labels[u]}
            for f, u in ranked[:k]
        ]
        flip = MinimalFlip(k, units, float(probs[k - 1]))
    return Faithfulness(c, ranked, comp, suff, curve, flip)


def _full_probability(model: Model, full: Scores, b: int) -> float:
    _, bias = _head(model)
    logit = bias + sum(float(full[f][b][-1]) for f in model.fields)
    return float(1.0 / (1.0 + np.exp(-logit)))


def explanation_faithfulness(
    model: Model,
    batch: _Batch,
    full: Scores,
    deltas: Sequence[Mapping[str, np.ndarray]],
    reuse: Reuse | None = None,
) -> list[Faithfulness]:
    """Each paper's faithfulness, from the grid's shares ``full`` and leave-one-out's
    ``deltas`` (delta P per unit, which rank the units) and, if given, what leave-one-out
    computed besides (``reuse``: one-unit deletions are not run again, the whole texts' first
    layer is not computed again). One batched pass per field."""
    plans, ranks, p_full = [], [], []
    for b, split in enumerate(batch.splits):
        p = _full_probability(model, full, b)
        sign = -1.0 if p >= 0.5 else 1.0  # support for c: -delta P for class 1, +delta P for 0
        ranked = rank_units([sign * np.asarray(deltas[b][f]) for f in model.fields])
        sizes = [len(fu.units) for fu in split]
        plan = _curve_plan(ranked, sizes)
        for q in QS:
            plan.add(_kept_only(ranked, top_k(q, len(ranked)), sizes))
        plans.append(plan)
        ranks.append(ranked)
        p_full.append(p)
    probs = _probabilities(model, batch, full, reuse or Reuse(), plans)
    return [_summary(model, batch, b, p_full[b], ranks[b], probs[b]) for b in range(len(plans))]


def random_baseline(
    model: Model,
    papers: Sequence[PaperInput],
    units: Mapping[str, str] | None = None,
    seeds: int = RANDOM_SEEDS,
) -> dict[str, Any]:
    """The AOPC of random rankings: for each paper, ``seeds`` shuffles of its units (seeded
    0 .. seeds-1, so a paper's shuffles do not depend on the sample), the mean of its
    shuffles' AOPC; and the mean over the papers. All papers' variants in one pass per field."""
    if not papers:
        return {"papers": 0, "seeds": seeds, "aopc_comprehensiveness": None,
                "aopc_sufficiency": None, "per_paper": []}  # fmt: skip
    batch = _prepare(model, papers, _units(model, units))
    full = _grid_scores(model, batch)
    plans = []
    for split in batch.splits:
        sizes = [len(fu.units) for fu in split]
        everything = [(f, u) for f, n in enumerate(sizes) for u in range(n)]
        plan = _Plan([[] for _ in sizes], [])
        for seed in range(seeds):
            order = np.random.default_rng(seed).permutation(len(everything))
            ranked = [everything[i] for i in order]
            for q in QS:
                plan.add(_deleted(ranked, top_k(q, len(ranked)), sizes))
            for q in QS:
                plan.add(_kept_only(ranked, top_k(q, len(ranked)), sizes))
        plans.append(plan)
    per_paper = []
    for b, probs in enumerate(_probabilities(model, batch, full, Reuse(), plans)):
        p = _full_probability(model, full, b)
        pc, pc_full = (probs, p) if p >= 0.5 else (1.0 - probs, 1.0 - p)
        drops = pc_full - pc.reshape(seeds, 2, len(QS))  # [seed, comprehensiveness|sufficiency, q]
        aopc = drops.mean(axis=(0, 2))
        per_paper.append({"aopc_comprehensiveness": float(aopc[0]),
                          "aopc_sufficiency": float(aopc[1])})  # fmt: skip
    return {
        "papers": len(papers),
        "seeds": seeds,
        **{k: float(np.mean([pp[k] for pp in per_paper])) for k in per_paper[0]},
        "per_paper": per_paper,
    }
