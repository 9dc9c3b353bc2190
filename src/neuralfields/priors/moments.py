"""Latent moment matching: pull a latent distribution's per-coordinate moments towards a target's,
and measure how well a latent space is covered."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import torch
from torch import Tensor

from ..errors import ConfigError, ShapeError

__all__ = ["MOMENTS", "UNIFORM_MOMENTS", "MOMENT_SCALES", "DEFAULT_WEIGHTS", "latent_moments", "moment_matching_loss", "ks_uniform", "pair_occupancy"]

MOMENTS = ("mean", "variance", "skewness", "kurtosis")
"""The moments that can be matched."""

UNIFORM_MOMENTS: dict[str, float] = {"mean": 0.5, "variance": 1.0 / 12.0, "skewness": 0.0, "kurtosis": 9.0 / 5.0}
"""Moments of the uniform distribution on [0, 1] (kurtosis is the plain, not the excess, kurtosis)."""

DEFAULT_WEIGHTS: dict[str, float] = {"variance": 1.0, "kurtosis": 1.0}
"""Match only variance and kurtosis: the seeds found that this covers the latent space best, while
matching the mean collapses it."""

MOMENT_SCALES: dict[str, float] = {"mean": 12.0**-0.5, "variance": 1.0 / 12.0, "skewness": 1.0, "kurtosis": 9.0 / 5.0}
"""Each moment's error is divided by this scale (the uniform's standard deviation for the mean, the
target for variance and kurtosis), so the terms are comparable: unscaled, the kurtosis error dominates
and training collapses the variance while matching the (scale-free) kurtosis."""

_EPS = 1e-8


def _check(z: Tensor) -> Tensor:
    if not isinstance(z, Tensor) or z.dim() != 2:
        raise ShapeError(f"latents must be a tensor (B, D), got {getattr(z, 'shape', type(z))}")
    if z.shape[0] < 2:
        raise ShapeError(f"moments over the batch need at least 2 latents, got {z.shape[0]}")
    return z


def latent_moments(z: Tensor) -> dict[str, Tensor]:
    """Per-coordinate moments over the batch.

    Args:
        z: latents ``(B, D)``.

    Returns:
        ``{"mean", "variance", "skewness", "kurtosis"}``, each ``(D,)`` (biased estimates; kurtosis is
        ``E[(z - mean)^4] / variance^2``).

    Example:
        >>> m = latent_moments(torch.rand(100_000, 2, generator=torch.Generator().manual_seed(0)))
        >>> all(abs(float(m[k][0]) - UNIFORM_MOMENTS[k]) < 0.01 for k in MOMENTS)
        True
    """
    z = _check(z)
    mean = z.mean(0)
    c = z - mean
    var = (c**2).mean(0)
    std = var.clamp_min(_EPS).sqrt()
    return {
        "mean": mean,
        "variance": var,
        "skewness": (c**3).mean(0) / std**3,
        "kurtosis": (c**4).mean(0) / var.clamp_min(_EPS) ** 2,
    }


def moment_matching_loss(
    z: Tensor, weights: Mapping[str, float] | None = None, target: Mapping[str, float] | None = None
) -> Tensor:
    """Weighted squared relative distance between the latents' moments and the target's.

    ``sum_k w_k * mean_d ((m_k(d) - t_k) / s_k)^2`` with the scales ``s_k`` of :data:`MOMENT_SCALES`.

    Args:
        z: latents ``(B, D)`` (e.g. a sigmoid layer's output in [0, 1]).
        weights: moment -> weight (default :data:`DEFAULT_WEIGHTS`: variance and kurtosis).
        target: moment -> target value (default :data:`UNIFORM_MOMENTS`).

    Returns:
        A differentiable scalar; 0 when every coordinate has the target moments.

    Example:
        >>> even = torch.linspace(0, 1, 1001)[:, None].repeat(1, 2)  # both coordinates spread evenly over [0, 1]
        >>> float(moment_matching_loss(even)) < 1e-4
        True
        >>> round(float(moment_matching_loss(torch.full((1001, 2), 0.5))), 4)  # no spread: variance and kurtosis off
        2.0
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    target = dict(UNIFORM_MOMENTS if target is None else target)
    unknown = set(weights) - set(MOMENTS)
    if unknown:
        raise ConfigError(f"unknown moments {sorted(unknown)}; use some of {MOMENTS}")
    missing = set(weights) - set(target)
    if missing:
        raise ConfigError(f"no target value for {sorted(missing)}")
    m = latent_moments(z)
    loss = z.new_zeros(())
    for k, w in weights.items():
        if w:
            loss = loss + w * (((m[k] - target[k]) / MOMENT_SCALES[k]) ** 2).mean()
    return loss


@torch.no_grad()
def ks_uniform(z: Tensor) -> Tensor:
    """Kolmogorov-Smirnov distance of each coordinate's empirical distribution to U(0, 1): ``(D,)``.

    Example:
        >>> z = torch.tensor([[0.125, 0.0], [0.625, 0.0], [0.375, 0.0], [0.875, 0.0]])
        >>> ks_uniform(z).tolist()  # evenly spread: 1 / (2 * 4); all at 0: the largest distance
        [0.125, 1.0]
    """
    z = _check(z).detach().double().clamp(0.0, 1.0)
    b = z.shape[0]
    s = torch.sort(z, dim=0).values
    i = torch.arange(1, b + 1, dtype=torch.float64, device=z.device)[:, None]
    return torch.maximum(i / b - s, s - (i - 1) / b).max(0).values


@torch.no_grad()
def pair_occupancy(z: Tensor, bins: int = 10) -> float:
    """Mean fraction of occupied cells of a ``bins x bins`` grid over each pair of coordinates in [0, 1]^2.

    Example:
        >>> g = torch.linspace(0.05, 0.95, 10)
        >>> pair_occupancy(torch.cartesian_prod(g, g)), pair_occupancy(torch.full((100, 2), 0.5))
        (1.0, 0.01)
    """
    z = _check(z).detach().double().clamp(0.0, 1.0)
    if not isinstance(bins, int) or bins < 1:
        raise ConfigError(f"bins must be a positive int, got {bins!r}")
    cells = (z * bins).long().clamp_(max=bins - 1)  # a latent of exactly 1.0 is in the last bin
    d = z.shape[1]
    if d < 2:
        return float(torch.unique(cells[:, 0]).numel() / bins)
    fractions = [torch.unique(cells[:, a] * bins + cells[:, b]).numel() / bins**2 for a, b in itertools.combinations(range(d), 2)]
    return float(sum(fractions) / len(fractions))
