"""The occlusion engine: the model, its loading and training, and the occlusion computations.

Only the worker and the CLI import this package; the web process never does (it must not load
torch).
"""

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
