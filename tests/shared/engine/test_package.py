"""``shared.engine`` loads its names lazily, and they are the same names as ever."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

# Each in a fresh interpreter: which submodule is imported first is the point.
FIRST_IMPORTS = [
    "from shared.engine import load_model, occlusion_grid, occlusion_grids, explain",
    "import shared.engine.explanations; from shared.engine import explain",
    "from shared.engine.export import to_json; from shared.engine import explain",
]


@pytest.mark.parametrize("first", FIRST_IMPORTS)
def test_explain_is_the_function_whichever_module_came_first(first: str) -> None:
    check = f"{first}; import inspect; print(inspect.isfunction(explain))"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "True", done.stderr


def test_an_unknown_name_is_an_attribute_error() -> None:
    import shared.engine

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = shared.engine.nothing  # type: ignore[attr-defined]


def test_no_submodule_is_named_like_a_public_name() -> None:
    # Importing a submodule binds it on the package: one named like an export would shadow it.
    import shared.engine

    submodules = {m.name for m in pkgutil.iter_modules(shared.engine.__path__)}
    assert submodules and not submodules & set(shared.engine.__all__)
