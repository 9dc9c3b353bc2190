"""Fitting: the fit loop, callbacks, history, checkpoints and metrics."""

from .augment import augment_batch, augmentation
from .callbacks import Callback, Snapshots, StepInfo, StopAtPSNR
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .fit import DEFAULTS, fit, lr_at
from .fit_many import FitManyResult, fit_many
from .fit_dataset import DatasetFitResult, DatasetStepInfo, fit_dataset
from .history import FitResult, History
from .metrics import mse_to_psnr, psnr, ssim
from .step import CPU_CHUNK_SIZE, mse_backward

__all__ = [
    "fit",
    "fit_dataset",
    "fit_many",
    "FitManyResult",
    "augmentation",
    "augment_batch",
    "DatasetFitResult",
    "DatasetStepInfo",
    "DEFAULTS",
    "lr_at",
    "mse_backward",
    "CPU_CHUNK_SIZE",
    "FitResult",
    "History",
    "Callback",
    "StepInfo",
    "Snapshots",
    "StopAtPSNR",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "psnr",
    "ssim",
    "mse_to_psnr",
]
