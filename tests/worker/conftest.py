"""Worker tests: real services from tests.service_fixtures, the default model, labelled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.service_fixtures import *  # noqa: F403  - database_url, service_env, ...


@pytest.fixture(scope="session")
def engine_model(default_model_dir: Path):
    """The default model, loaded once in the test process to compute reference grids."""
    from shared.engine import load_model

    return load_model(default_model_dir, device="cpu")


@pytest.fixture(scope="session")
def labelled() -> Path:
    if not DATA.is_file():
        pytest.skip(f"labelled data not found at {DATA}: the end-to-end tests submit it")
    return DATA
