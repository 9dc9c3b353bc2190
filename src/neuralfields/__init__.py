"""neuralfields: neural fields (implicit neural representations) in PyTorch.

>>> import neuralfields as nf
>>> f = nf.Siren(in_features=2, out_features=1, hidden_features=32, hidden_layers=2, seed=0)
>>> nf.render(f, (8, 8)).shape
torch.Size([1, 8, 8])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuralfields")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from . import analysis, conditioning, data, errors, experiments, generators, grid, inverse, priors
from ._registry import KINDS, available, create, plugins, register
from ._history import History
from .errors import NeuralFieldsError, NonFiniteLossError, PluginWarning
from .conditioning import BinaryCode, ConditionedField, HyperSiren, IndexCoordinate, Latent
from .fields import BottleneckSiren, Field, Finer, FourierFeatures, Gauss, HashGrid, Siren, Wire, render
from .io import load, save
from .training import Callback, FitManyResult, FitResult, Snapshots, StepInfo, StopAtPlateau, StopAtPSNR, fit, fit_dataset, fit_many, psnr, ssim
from .training import fit_hyper, train_autoencoder
from .analysis.frequency import suggest_frequency

__all__ = [
    "__version__",
    "KINDS",
    "register",
    "create",
    "available",
    "plugins",
    "Field",
    "Siren",
    "BottleneckSiren",
    "Gauss",
    "Finer",
    "Wire",
    "FourierFeatures",
    "HashGrid",
    "ConditionedField",
    "IndexCoordinate",
    "BinaryCode",
    "Latent",
    "HyperSiren",
    "fit_hyper",
    "train_autoencoder",
    "fit",
    "fit_dataset",
    "fit_many",
    "FitManyResult",
    "suggest_frequency",
    "render",
    "save",
    "load",
    "FitResult",
    "History",
    "Callback",
    "StepInfo",
    "Snapshots",
    "StopAtPSNR",
    "StopAtPlateau",
    "psnr",
    "ssim",
    "NeuralFieldsError",
    "NonFiniteLossError",
    "PluginWarning",
    "analysis",
    "conditioning",
    "data",
    "errors",
    "experiments",
    "generators",
    "grid",
    "inverse",
    "priors",
]
