"""Field families: coordinate networks with batched-parameter evaluation, and rendering."""

from .base import Field
from .render import from_unit, render, to_unit
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
    "to_unit",
    "from_unit",
]
