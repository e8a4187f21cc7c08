"""The occlusion engine: the model, its loading and training, and the occlusion computations.

Only the worker and the CLI import this package; the web process never does (it must not load
torch). Its names are loaded on first use (PEP 562), so that importing a torch-free submodule
such as ``shared.engine.options`` (the CLI's training defaults) loads no torch. No submodule
shares a name with a public name, so importing one never shadows what this package exports.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers, without importing torch at run time
    from shared.engine.explanations import (
        Activations,
        Explanation,
        OcclusionGrid,
        activation_traces,
        explain,
        occlusion_grid,
        occlusion_grids,
    )
    from shared.engine.faithfulness import Faithfulness, random_baseline
    from shared.engine.runtime import Model, load_model
    from shared.units import InputError

# Each public name and the module that defines it.
_HOMES = {
    "Activations": "shared.engine.explanations",
    "Explanation": "shared.engine.explanations",
    "OcclusionGrid": "shared.engine.explanations",
    "activation_traces": "shared.engine.explanations",
    "explain": "shared.engine.explanations",
    "occlusion_grid": "shared.engine.explanations",
    "occlusion_grids": "shared.engine.explanations",
    "Faithfulness": "shared.engine.faithfulness",
    "random_baseline": "shared.engine.faithfulness",
    "Model": "shared.engine.runtime",
    "load_model": "shared.engine.runtime",
    "InputError": "shared.units",
}

__all__ = [
    "Activations",
    "Explanation",
    "Faithfulness",
    "InputError",
    "Model",
    "OcclusionGrid",
    "activation_traces",
    "explain",
    "load_model",
    "occlusion_grid",
    "occlusion_grids",
    "random_baseline",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # found directly from now on
    return value
