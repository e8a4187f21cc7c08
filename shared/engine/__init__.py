"""The occlusion engine: the model, its loading and training, and the occlusion computations.

Only the worker and the CLI import this package; the web process never does (it must not load
torch). Its names are loaded on first use (PEP 562), so that importing a torch-free submodule
such as ``shared.engine.options`` (the CLI's training defaults) loads no torch.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers, without importing torch at run time
    from shared.engine.explain import (
        Activations,
        Explanation,
        OcclusionGrid,
        explain,
        occlusion_grid,
        occlusion_grids,
    )
    from shared.engine.runtime import Model, load_model
    from shared.units import InputError

# Each public name and the module that defines it.
_HOMES = {
    "Activations": "shared.engine.explain",
    "Explanation": "shared.engine.explain",
    "OcclusionGrid": "shared.engine.explain",
    "explain": "shared.engine.explain",
    "occlusion_grid": "shared.engine.explain",
    "occlusion_grids": "shared.engine.explain",
    "Model": "shared.engine.runtime",
    "load_model": "shared.engine.runtime",
    "InputError": "shared.units",
}

__all__ = [
    "Activations",
    "Explanation",
    "InputError",
    "Model",
    "OcclusionGrid",
    "explain",
    "load_model",
    "occlusion_grid",
    "occlusion_grids",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # found directly from now on
    return value


class _Package(ModuleType):
    """Importing the submodule ``explain`` would bind it here over the function of that name
    (the eager imports used to bind the function last); the function keeps the name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not (name in _HOMES and isinstance(value, ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
