"""Priors: autoencoder priors, latent moment matching and latent-space coverage."""

from .base import Prior
from .autoencoder import AutoEncoder
from .patches import PatchAutoEncoder, extract_patches, patch_positions
from .inspection import ProbeResult, ood_probes, probe_report
from .moments import (
    DEFAULT_WEIGHTS,
    MOMENTS,
    UNIFORM_MOMENTS,
    ks_uniform,
    latent_moments,
    moment_matching_loss,
    pair_occupancy,
)
from .tv import TotalVariation, total_variation

__all__ = [
    "Prior",
    "AutoEncoder",
    "PatchAutoEncoder",
    "extract_patches",
    "patch_positions",
    "MOMENTS",
    "UNIFORM_MOMENTS",
    "DEFAULT_WEIGHTS",
    "latent_moments",
    "moment_matching_loss",
    "ks_uniform",
    "pair_occupancy",
    "TotalVariation",
    "total_variation",
    "ood_probes",
    "probe_report",
    "ProbeResult",
]
