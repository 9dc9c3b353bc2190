"""The research experiments as functions that write a report folder."""

from .fit import FitConfig, fit_image
from .fit_set import FieldSet, FitSetConfig, fit_set
from .generate import GenerateConfig, generate
from .fit_signal import fit_signal, load_array
from .hyper import HyperTrainConfig, hyper_train
from .init_study import InitStudyConfig, init_study
from .memorize import MemorizeConfig, memorize
from .priors import TrainPriorConfig, load_priors, train_prior
from .restore import RestoreConfig, restore

__all__ = [
    "FitConfig",
    "fit_image",
    "FitSetConfig",
    "fit_set",
    "FieldSet",
    "GenerateConfig",
    "generate",
    "fit_signal",
    "load_array",
    "MemorizeConfig",
    "memorize",
    "TrainPriorConfig",
    "train_prior",
    "RestoreConfig",
    "restore",
    "load_priors",
    "HyperTrainConfig",
    "hyper_train",
    "InitStudyConfig",
    "init_study",
]
