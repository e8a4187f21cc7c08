"""Training and architecture options with their defaults, stated once and torch-free, so
``occlab train --help`` can show them without loading torch."""

from __future__ import annotations

from dataclasses import dataclass

from shared.units import FIELDS


@dataclass
class TrainConfig:
    seed: int = 13
    vector_size: int = 200
    hidden_size: int = 128
    num_layers: int = 2
    max_epochs: int = 15
    patience: int = 3
    batch_size: int = 32
    learning_rate: float = 2e-3
    w2v_epochs: int = 15
    limit: int | None = None  # use only this many papers (quick runs and tests)
    name: str = "default"
    version: str = "1.0.0"
    fields: tuple[str, ...] = FIELDS
