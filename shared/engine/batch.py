"""A batch of papers ready for the engine: their units and embedded fields, the model's head
split by field, and each field's prefix shares (the grid's): what every explanation step
(grids, leave-one-out, faithfulness, activations) starts from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from shared.engine.occlusion import field_scores
from shared.engine.runtime import Model
from shared.units import DEFAULT_UNITS, FieldUnits, InputError

PaperInput = Mapping[str, str] | Sequence[str]


@dataclass
class _Batch:
    splits: list[list[FieldUnits]]
    seqs: dict[str, list[Tensor]]


def _prepare(model: Model, papers: Sequence[PaperInput], units: Mapping[str, str]) -> _Batch:
    splits = []
    for i, paper in enumerate(papers):
        doc = paper if isinstance(paper, Mapping) else model._doc(list(paper))
        try:
            splits.append(model.split(doc, units))
        except InputError as exc:
            where = f"paper {i + 1}: " if len(papers) > 1 else ""
            raise InputError(f"{where}{exc}", exc.field) from exc
    seqs = {f: [model.embed(s[n].tokens) for s in splits] for n, f in enumerate(model.fields)}
    return _Batch(splits, seqs)


def _units(model: Model, units: Mapping[str, str] | None, **named: str | None) -> dict[str, str]:
    chosen: dict[str, str] = {f: DEFAULT_UNITS.get(f, "word") for f in model.fields}
    chosen.update(units or {})
    chosen.update({k.removesuffix("_unit"): v for k, v in named.items() if v is not None})
    return chosen


def _head(model: Model) -> tuple[dict[str, Tensor], float]:
    w, b = model.classifier.decision_weights()
    slices = model.classifier.field_slices()
    return {f: w[slices[f]] for f in model.fields}, float(b)


Scores = dict[str, list[np.ndarray]]


@torch.inference_mode()
def _scores(model: Model, batch: _Batch, lengths: Sequence[Sequence[Sequence[int]]]) -> Scores:
    """Per field, per paper: the logit share of each requested prefix length."""
    weights, _ = _head(model)
    return {
        f: field_scores(model.classifier.encoder(f), weights[f], batch.seqs[f], lengths[n])
        for n, f in enumerate(model.fields)
    }


def _grid_scores(model: Model, batch: _Batch) -> Scores:
    lengths = [[s[n].prefix_lengths for s in batch.splits] for n in range(len(model.fields))]
    return _scores(model, batch, lengths)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _others(model: Model, scores: Scores, b: int, field: str) -> float:
    """bias + every other field's full-text share: the logit with ``field`` contributing 0."""
    _, bias = _head(model)
    return bias + sum(float(scores[g][b][-1]) for g in model.fields if g != field)
