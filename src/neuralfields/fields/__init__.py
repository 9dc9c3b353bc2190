"""Field families: coordinate networks with batched-parameter evaluation, and rendering."""

from .base import Field
from .render import RENDER_BUDGET, from_unit, render, render_to_file, to_unit
from .siren import BACKENDS, BottleneckSiren, Modulation, Siren, resolve_backend, siren_init_

__all__ = [
    "Field",
    "Siren",
    "BottleneckSiren",
    "Modulation",
    "siren_init_",
    "BACKENDS",
    "resolve_backend",
    "render",
    "render_to_file",
    "RENDER_BUDGET",
    "to_unit",
    "from_unit",
]
