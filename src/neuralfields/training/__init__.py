"""Training: every trainer (adapters on the one engine, :mod:`neuralfields._loop`), losses and the fast-step
dispatch, callbacks, history, checkpoints and metrics."""

from .augment import augment_batch, augmentation
from .callbacks import Callback, Snapshots, StepInfo, StopAtPlateau, StopAtPSNR
from .health import training_health
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .fit import DEFAULTS, fit, lr_at
from .fit_many import FitManyResult, fit_many
from .fit_dataset import DatasetFitResult, DatasetStepInfo, fit_dataset
from .history import FitResult, History, TrainResult
from .metrics import mse_to_psnr, psnr, ssim
from .init import Initialisation, MetaInit, PaperInit, PrefitInit, SharedEncoderInit, WeightScalingInit, resolve_init, start_from
from .losses import LOSSES, resolve_loss
from .tensorboard import TensorBoardLogger
from .step import CPU_CHUNK_SIZE, accumulate_mse_grad, mse_backward, register_mse_step
from .autoencoder import AutoEncoderFitResult, train_autoencoder
from .hyper import HyperFitResult, fit_hyper
from .adversarial import FieldGeneratorResult, train_field_generator
from .classifier import train_classifier
from .code_prior import CodePriorFit, fit_code_prior
from .meta import MetaLearnResult, meta_learn
from .shared_encoder import SharedEncoderResult, train_shared_encoder
from .derivatives import coordinate_gradient, image_gradient, image_laplacian, laplacian
from .supervision import SDF_WEIGHTS, PoissonResult, SDFResult, fit_poisson, fit_sdf

__all__ = [
    "fit",
    "fit_code_prior",
    "CodePriorFit",
    "train_classifier",
    "train_field_generator",
    "FieldGeneratorResult",
    "StopAtPlateau",
    "training_health",
    "fit_sdf",
    "fit_poisson",
    "SDFResult",
    "PoissonResult",
    "SDF_WEIGHTS",
    "coordinate_gradient",
    "laplacian",
    "image_gradient",
    "image_laplacian",
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
    "accumulate_mse_grad",
    "register_mse_step",
    "LOSSES",
    "PaperInit",
    "WeightScalingInit",
    "PrefitInit",
    "MetaInit",
    "SharedEncoderInit",
    "Initialisation",
    "start_from",
    "resolve_init",
    "TensorBoardLogger",
    "resolve_loss",
    "CPU_CHUNK_SIZE",
    "FitResult",
    "TrainResult",
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
    "fit_hyper",
    "HyperFitResult",
    "train_autoencoder",
    "AutoEncoderFitResult",
    "meta_learn",
    "MetaLearnResult",
    "train_shared_encoder",
    "SharedEncoderResult",
]
