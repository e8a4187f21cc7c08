"""Public occlusion API: grids, leave-one-out and contribution views, for one paper or many."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from shared.engine.batch import (
    PaperInput,
    Scores,
    _Batch,
    _grid_scores,
    _head,
    _others,
    _prepare,
    _scores,
    _sigmoid,
    _units,
)
from shared.engine.classifier import pad_batch
from shared.engine.deletion import _whole, deletion_scores, unit_spans
from shared.engine.faithfulness import Faithfulness, Reuse, explanation_faithfulness
from shared.engine.occlusion import grid_probabilities
from shared.engine.runtime import Model
from shared.units import Detail, FieldUnits


@dataclass
class OcclusionGrid:
    """``probabilities[i, j]`` = P(first i+1 title units, first j+1 abstract units)."""

    probabilities: np.ndarray
    probability: float
    fields: list[FieldUnits]
    model_name: str
    model_version: str

    @property
    def title_units(self) -> list[list[str]]:
        return self.fields[0].units

    @property
    def abstract_units(self) -> list[list[str]]:
        return self.fields[1].units

    @property
    def skipped(self) -> dict[str, list[str]]:
        return {f.name: f.skipped for f in self.fields}


@dataclass
class FieldActivations:
    """Per known token: top-layer outputs of each direction, and P as the field is read."""

    tokens: list[str]
    forward: np.ndarray
    backward: np.ndarray
    running_probability: np.ndarray


@dataclass
class Activations:
    """The final feature vector and what each feature adds to the positive-class logit.

    ``fields`` holds the per-token traces; the bulk profile leaves it None (its running P is
    a prefix pass per token, most of an explanation's cost) and :func:`activation_traces`
    computes it later."""

    fields: dict[str, FieldActivations] | None
    features: np.ndarray
    weights: np.ndarray
    bias: float
    feature_names: list[str]

    @property
    def contributions(self) -> np.ndarray:
        return self.features * self.weights

    @property
    def field_names(self) -> list[str]:
        return list(dict.fromkeys(n.rsplit(".", 2)[0] for n in self.feature_names))

    def ranked(self, top: int | None = None) -> list[int]:
        """Feature indices by |contribution|, largest first."""
        return [int(i) for i in np.argsort(-np.abs(self.contributions), kind="stable")[:top]]


@dataclass
class Explanation:
    grid: OcclusionGrid
    leave_one_out: dict[str, np.ndarray]
    activations: Activations | None
    faithfulness: Faithfulness | None = None


def _grids(model: Model, batch: _Batch, scores: Scores) -> list[OcclusionGrid]:
    _, bias = _head(model)
    grids = []
    for b, split in enumerate(batch.splits):
        probs = grid_probabilities(bias, [scores[f][b] for f in model.fields])
        full = float(probs[(-1,) * probs.ndim])
        grids.append(OcclusionGrid(probs, full, split, model.name, model.version))
    return grids


def occlusion_grids(
    model: Model,
    papers: Sequence[PaperInput],
    title_unit: str | None = None,
    abstract_unit: str | None = None,
    units: Mapping[str, str] | None = None,
) -> list[OcclusionGrid]:
    """Grids for many papers in one batched pass per field; same results as one by one."""
    chosen = _units(model, units, title_unit=title_unit, abstract_unit=abstract_unit)
    batch = _prepare(model, papers, chosen)
    return _grids(model, batch, _grid_scores(model, batch))


def occlusion_grid(
    model: Model,
    *texts: str,
    title_unit: str | None = None,
    abstract_unit: str | None = None,
    units: Mapping[str, str] | None = None,
) -> OcclusionGrid:
    """The grid for one paper: ``occlusion_grid(model, title, abstract)``."""
    return occlusion_grids(model, [texts], title_unit, abstract_unit, units)[0]


@torch.inference_mode()
def _leave_one_out(
    model: Model, batch: _Batch, scores: Scores, reuse: Reuse | None = None
) -> list[dict[str, np.ndarray]]:
    """delta P when each unit of each field is removed, the other fields kept whole. With
    ``reuse``, also what faithfulness reads again: each deletion's logit share and the whole
    texts' first layer."""
    weights, _ = _head(model)
    out: list[dict[str, np.ndarray]] = [{} for _ in batch.splits]
    for n, f in enumerate(model.fields):
        spans, prefixes = [], []
        for b, split in enumerate(batch.splits):
            known = [t in model.vocab for t in split[n].tokens]
            bounds = np.cumsum([0] + [len(u) for u in split[n].units]).tolist()
            spans.append(unit_spans(known, bounds))
            # The grid's own shares: a unit with no known word scores exactly 0, and one at
            # the end leaves a prefix already scored.
            prefixes.append(dict(zip(split[n].prefix_lengths, scores[f][b], strict=True)))
        encoder = model.classifier.encoder(f)
        whole = None
        if reuse is not None and encoder.bidirectional:  # (unidirectional: no such run)
            whole = reuse.wholes[f] = _whole(encoder, batch.seqs[f])
        dropped = deletion_scores(encoder, weights[f], batch.seqs[f], spans, prefixes, whole)
        if reuse is not None:
            reuse.shares[f] = dropped
        for b in range(len(batch.splits)):
            rest = _others(model, scores, b, f)
            out[b][f] = _sigmoid(rest + dropped[b]) - _sigmoid(rest + scores[f][b][-1])
    return out


Encoded = dict[str, list[tuple[np.ndarray | None, np.ndarray]]]


def _encode(model: Model, batch: _Batch, top_outputs: bool) -> Encoded:
    """Per field, per paper: (top-layer outputs per token or None, final features). One
    pass either way; the final features do not depend on ``top_outputs``."""
    out: Encoded = {}
    for f in model.fields:
        x, n = pad_batch(batch.seqs[f], model.vectors.vector_size)
        encoder, x, n = model.classifier.encoder(f), x.to(model.device), n.to(model.device)
        # outputs() and forward() both read a field of no known word as zeros.
        outs, final = encoder.outputs(x, n) if top_outputs else (None, encoder(x, n))
        out[f] = [
            (outs[b, : n[b]].cpu().numpy() if outs is not None else None, final[b].cpu().numpy())
            for b in range(len(n))
        ]
    return out


def _traces(
    model: Model, batch: _Batch, full: Scores, encoded: Encoded
) -> list[dict[str, FieldActivations]]:
    """Per paper, per field: the top-layer outputs and P after each token (the prefix pass)."""
    hidden = model.classifier.arch.hidden_size
    run_lengths = [[list(range(1, len(s) + 1)) for s in batch.seqs[f]] for f in model.fields]
    running = _scores(model, batch, run_lengths)
    result = []
    for b, split in enumerate(batch.splits):
        fields = {}
        for n_, f in enumerate(model.fields):
            top = encoded[f][b][0]
            assert top is not None  # encoded with top_outputs
            run_p = _sigmoid(_others(model, full, b, f) + running[f][b])
            tokens = split[n_].known_tokens(model.vocab)
            fields[f] = FieldActivations(tokens, top[:, :hidden], top[:, hidden:], run_p)
        result.append(fields)
    return result


@torch.inference_mode()
def _activations(
    model: Model, batch: _Batch, full: Scores, traces: bool = True
) -> list[Activations]:
    """Contributions (one encode pass per field), and with ``traces`` the per-token traces."""
    weights, bias = _head(model)
    encoded = _encode(model, batch, top_outputs=traces)
    per_paper = _traces(model, batch, full, encoded) if traces else [None] * len(batch.splits)
    names = model.classifier.feature_names()
    w = torch.cat([weights[f] for f in model.fields]).cpu().numpy()
    return [
        Activations(
            fields, np.concatenate([encoded[f][b][1] for f in model.fields]), w, bias, names
        )
        for b, fields in enumerate(per_paper)
    ]


def activation_traces(
    model: Model,
    papers: Sequence[PaperInput],
    title_unit: str | None = None,
    abstract_unit: str | None = None,
    units: Mapping[str, str] | None = None,
) -> list[Activations]:
    """The full activations (contributions and traces) of papers explained in bulk before:
    ``explain``'s own steps, so for the same papers they equal ``explain(..., detail="full")``."""
    chosen = _units(model, units, title_unit=title_unit, abstract_unit=abstract_unit)
    batch = _prepare(model, papers, chosen)
    return _activations(model, batch, _grid_scores(model, batch), traces=True)


def explain(
    model: Model,
    papers: Sequence[PaperInput],
    title_unit: str | None = None,
    abstract_unit: str | None = None,
    units: Mapping[str, str] | None = None,
    activations: bool = True,
    detail: str = Detail.FULL,
    faithfulness: bool = True,
) -> list[Explanation]:
    """Grid, leave-one-out, faithfulness and (optionally) activations for each paper, batched.

    ``detail="bulk"`` keeps the activations' contributions but not their per-token traces
    (about a fifth of the cost); :func:`activation_traces` adds them later."""
    if detail not in tuple(Detail):
        raise ValueError(f"detail must be one of {', '.join(Detail)}, not {detail!r}")
    chosen = _units(model, units, title_unit=title_unit, abstract_unit=abstract_unit)
    batch = _prepare(model, papers, chosen)
    scores = _grid_scores(model, batch)
    grids = _grids(model, batch, scores)
    reuse = Reuse() if faithfulness else None
    loo = _leave_one_out(model, batch, scores, reuse)
    faith: Sequence[Faithfulness | None] = (
        explanation_faithfulness(model, batch, scores, loo, reuse)
        if faithfulness
        else [None] * len(grids)
    )
    acts: list[Activations | None] = (
        list(_activations(model, batch, scores, traces=detail == Detail.FULL))
        if activations
        else [None] * len(grids)
    )
    return [Explanation(g, d, a, f) for g, d, a, f in zip(grids, loo, acts, faith, strict=True)]
