"""The research experiments as functions that write a report folder."""

from .fit import FitConfig, fit_image
from .hyper import HyperTrainConfig, hyper_train
from .init_study import InitStudyConfig, init_study
from .memorize import MemorizeConfig, memorize
from .priors import RestoreConfig, TrainPriorConfig, load_priors, restore, train_prior

__all__ = [
    "FitConfig",
    "fit_image",
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
