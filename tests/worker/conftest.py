"""Worker tests: settings with only a database (chunks are processed without Redis), and
the default model loaded once in this process to compute reference grids."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import Settings, load_settings


@pytest.fixture(scope="session")
def engine_model(default_model_dir: Path):
    from shared.engine import load_model

    return load_model(default_model_dir, device="cpu")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Overrides the plugins' ``settings``: a migrated database and nothing else."""
    return load_settings({"DATABASE_URL": database_url, "OCCLAB_INSTANCE": str(tmp_path)})
