"""The occlusion engine: the model, its loading and training, and the occlusion computations.

Only the worker and the CLI import this package; the web process never does (it must not load
torch). Its names are loaded on first use (PEP 562): importing a torch-free submodule such as
``shared.engine.options`` (the CLI's training defaults) then loads no torch.

The function ``explain`` is not among them: its module is also called ``explain``, and once
that submodule is imported the package's attribute is the module, which a lazy name cannot
override. Import it as ``from shared.engine.explain import explain``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers, without importing torch at run time
    from shared.engine.explain import (
        Activations,
        Explanation,
        OcclusionGrid,
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
