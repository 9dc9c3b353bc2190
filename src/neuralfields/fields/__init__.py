"""Field families: coordinate networks with batched-parameter evaluation, and rendering."""

from .base import Field
from .render import RENDER_BUDGET, from_unit, render, render_to_file, to_unit
from .siren import BACKENDS, BottleneckSiren, Modulation, Siren, resolve_backend, siren_init_
from .mlp import ActivationMLP
from .gauss import Gauss
from .finer import Finer
from .fourier import FourierFeatures
from .hashgrid import HashGrid
from .wire import Wire

__all__ = [
    "Field",
    "Siren",
    "BottleneckSiren",
    "ActivationMLP",
    "Gauss",
    "Finer",
    "FourierFeatures",
    "HashGrid",
    "Wire",
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
