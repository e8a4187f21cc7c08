"""Shared fixtures: the labelled data, a tiny model trained once per session, the default model.

The service, factory and web fixtures come from tests/fixtures as plugins, so that every
test directory sees one set of them without importing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.private",
    "tests.fixtures.factories",
    "tests.fixtures.web",
    "tests.fixtures.objects",
]

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "labelled-papers.csv"
DEFAULT_MODEL = REPO / "models" / "default"

TOY_TITLE = "Exploration of humans, society and R"
TOY_ABSTRACT = (
    "We used methods and techniques to do stuff. Weber Freud and vocabulary acquisition were "
    "explored. Then we did more stuff. Our code can be found on Github."
)


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_path() -> Path:
    """The labelled papers, which live beside the clone (../shared/data), not in it: their
    absence skips a test, or fails it under OCCLAB_REQUIRE_SERVICES, since CI lays them out."""
    if not DATA.is_file():
        # Imported here: importing a plugin before pytest loads it stops its assert rewriting.
        from tests.fixtures.services import require

        require(f"labelled data not found at {DATA}")
    return DATA


def _train(data: Path, out: Path, **overrides: object) -> Path:
    from shared.engine.train import TrainConfig, train_model

    cfg: dict[str, Any] = dict(limit=300, hidden_size=8, vector_size=16, max_epochs=1, w2v_epochs=2)
    cfg.update(overrides)
    train_model(data, out, TrainConfig(**cfg), log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def train_tiny(data_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """Train a tiny model into a fresh directory: ``train_tiny(folder, **config overrides)``."""
    return lambda folder, **kw: _train(data_path, tmp_path_factory.mktemp(folder), **kw)


@pytest.fixture(scope="session")
def tiny_model_dir(train_tiny) -> Path:
    return train_tiny("tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from shared.engine.runtime import load_model

    return load_model(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    if not (DEFAULT_MODEL / "manifest.json").is_file():
        pytest.skip(f"no trained default model yet ({DEFAULT_MODEL}/manifest.json is absent)")
    return DEFAULT_MODEL
