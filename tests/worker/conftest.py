"""Worker tests: the default model loaded once in this process to compute reference grids."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def engine_model(default_model_dir: Path):
    from shared.engine import load_model

    return load_model(default_model_dir, device="cpu")
