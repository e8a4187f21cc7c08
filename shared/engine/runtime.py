"""A loaded model: vectors, classifier and the plain (brute-force) prediction path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from shared.engine.classifier import Classifier, pad_batch
from shared.engine.model_dir import DEFAULT_MODEL_DIR, load_model_dir
from shared.units import FieldUnits, InputError, keeps_boilerplate, split_units

Tokens = Sequence[str]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Model:
    """A classifier with its word vectors; P(positive class) for papers of named fields."""

    def __init__(
        self, classifier: Classifier, vectors: Any, manifest: dict[str, Any], device: torch.device
    ) -> None:
        self.classifier = classifier.to(device).eval()
        self.vectors = vectors
        self.manifest = manifest
        self.device = device
        self.fields: tuple[str, ...] = classifier.arch.fields
        self.name = str(manifest.get("name", "unnamed"))
        self.version = str(manifest.get("version", "0"))

    @property
    def vocab(self) -> Mapping[str, int]:
        vocab: Mapping[str, int] = self.vectors.key_to_index
        return vocab

    def embed(self, tokens: Tokens) -> Tensor:
        """[n, D] float32 vectors of the in-vocabulary tokens, in order; unknown ones skipped."""
        idx = [self.vocab[t] for t in tokens if t in self.vocab]
        rows = np.asarray(self.vectors.vectors[idx], dtype=np.float32)
        return torch.from_numpy(rows.reshape(len(idx), self.vectors.vector_size)).to(self.device)

    def split(self, paper: Mapping[str, object], units: Mapping[str, str]) -> list[FieldUnits]:
        """Validate a paper and cut each field into units; InputError names the bad field.

        ``units`` maps each field to its unit, and may say whether boilerplate is kept
        (``shared.units.boilerplate_option``): ``explain(units=...)`` passes it through.
        """
        missing = [f for f in self.fields if f not in paper]
        if missing:
            raise InputError(f"missing field {missing[0]!r}: the model reads {self.fields}")
        keep = keeps_boilerplate(units)
        return [
            split_units(f, paper[f], units.get(f, "word"), self.vocab, keep) for f in self.fields
        ]

    @torch.inference_mode()
    def predict_batch(self, docs: Sequence[Mapping[str, Tokens]]) -> np.ndarray:
        """P for each doc (field -> tokens), by one plain forward pass over the batch.

        A field with no known token reads as nothing (zero state); callers that take user
        input check for that first.
        """
        inputs = {}
        for f in self.fields:
            seqs = [self.embed(d[f]) for d in docs]
            x, lengths = pad_batch(seqs, self.vectors.vector_size)
            inputs[f] = (x.to(self.device), lengths.to(self.device))
        probability = self.classifier.probability(self.classifier(inputs))
        return probability.double().cpu().numpy()

    def predict_tokens(self, *fields: Tokens) -> float:
        """P for one paper given each field's tokens, in the model's field order; a field
        with no known token reads as nothing."""
        return float(self.predict_batch([self._doc(fields)])[0])

    def predict(self, *texts: str) -> float:
        """P for one paper given each field's text, in the model's field order."""
        doc = self._doc(texts)
        split = self.split(doc, {})
        return self.predict_tokens(*(fu.tokens for fu in split))

    def _doc(self, values: Sequence[Any]) -> dict[str, Any]:
        if len(values) != len(self.fields):
            raise InputError(f"expected {len(self.fields)} fields {self.fields}, got {len(values)}")
        return dict(zip(self.fields, values, strict=True))


def load_model(path: str | Path | None = None, device: str | torch.device | None = None) -> Model:
    """Load a model directory (default: the shipped ``models/default``), verifying its files."""
    model_dir = Path(path) if path is not None else DEFAULT_MODEL_DIR
    classifier, vectors, manifest = load_model_dir(model_dir)
    dev = torch.device(device) if device is not None else default_device()
    return Model(classifier, vectors, manifest, dev)
