"""Priors: latent moment matching and latent-space coverage (autoencoder priors come next)."""

from .moments import (
    DEFAULT_WEIGHTS,
    MOMENTS,
    UNIFORM_MOMENTS,
    ks_uniform,
    latent_moments,
    moment_matching_loss,
    pair_occupancy,
)

__all__ = [
    "MOMENTS",
    "UNIFORM_MOMENTS",
    "DEFAULT_WEIGHTS",
    "latent_moments",
    "moment_matching_loss",
    "ks_uniform",
    "pair_occupancy",
]
