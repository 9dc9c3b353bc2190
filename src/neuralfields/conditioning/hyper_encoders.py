"""The encoders of a :class:`~neuralfields.HyperSiren`: images or context pixels -> pre-latent codes.

- :class:`ConvEncoder` (``"conv"``): a small CNN over whole images ``(B, C, H, W)``.
- :class:`SetEncoder` (``"set"``): a permutation-invariant encoder of context pixels
  ``(coords (B, M, 2), values (B, M, C))``, so a random subset of the pixels suffices.

Both map to a pre-latent ``(B, latent_dim)``; the :class:`~neuralfields.HyperSiren` applies its latent
activation (none, or a sigmoid) after them. Values enter on the field's [-1, 1] scale.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["ENCODERS", "ConvEncoder", "SetEncoder", "fourier_features"]

ENCODERS = ("conv", "set")
"""Encoders of a :class:`~neuralfields.HyperSiren`: ``"conv"`` (a CNN over whole images of a fixed size)
and ``"set"`` (a permutation-invariant encoder of context pixels ``(coords, values)``)."""

POOL = 4
"""The conv encoder pools its feature maps to ``POOL x POOL`` cells."""

CONTEXT_FREQS = 4
"""Octaves of the set encoder's Fourier features of the coordinates."""


class ConvEncoder(nn.Module):
    """Images ``(B, C, H, W)`` -> pre-latent ``(B, latent_dim)``: a 3x3 conv, two stride-2 convs, an
    adaptive average pool to ``4 x 4`` cells (keeps the coarse layout; any image size works) and a
    linear map.

    Args:
        channels: image channels.
        latent_dim: output size.
        width: channels of the first conv (the last has twice as many).

    Example:
        >>> ConvEncoder(1, 8, 4)(torch.zeros(2, 1, 16, 16)).shape
        torch.Size([2, 8])
    """

    def __init__(self, channels: int, latent_dim: int, width: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(POOL),
        )
        self.out = nn.Linear(2 * width * POOL * POOL, latent_dim)

    def forward(self, images: Tensor) -> Tensor:
        """``(B, C, H, W)`` on the [-1, 1] scale -> ``(B, latent_dim)``."""
        return self.out(self.convs(images).flatten(1))  # type: ignore[no-any-return]


def fourier_features(coords: Tensor) -> Tensor:
    """``(B, M, 2)`` -> ``(B, M, 2 + 4 * CONTEXT_FREQS)``: coordinates and their sines / cosines.

    Example:
        >>> fourier_features(torch.zeros(1, 3, 2)).shape
        torch.Size([1, 3, 18])
    """
    freqs = math.pi * 2.0 ** torch.arange(CONTEXT_FREQS, device=coords.device, dtype=coords.dtype)
    angles = (coords[..., None] * freqs).flatten(-2)
    return torch.cat([coords, torch.sin(angles), torch.cos(angles)], dim=-1)


class SetEncoder(nn.Module):
    """Context ``(coords (B, M, 2), values (B, M, C))`` -> pre-latent ``(B, latent_dim)``.

    A per-point MLP of (Fourier features of) the coordinates gives ``width`` basis functions per channel,
    ``phi(x)``; the mean over the points of ``phi(x) . value`` (a Monte-Carlo estimate of the image's
    projections onto the basis functions, so independent of ``M`` in expectation) goes through an MLP.
    Values enter linearly before the pool: with a generic per-point MLP of ``(coords, value)`` the
    pooled features are dominated by which coordinates were drawn, and training stalls at the mean image.

    Args:
        channels: value channels.
        latent_dim: output size.
        width: basis functions per channel (and the width of the MLPs).

    Example:
        >>> SetEncoder(1, 8, 4)(torch.zeros(2, 5, 2), torch.zeros(2, 5, 1)).shape
        torch.Size([2, 8])
    """

    def __init__(self, channels: int, latent_dim: int, width: int) -> None:
        super().__init__()
        self.channels, self.width = channels, width
        n_in = 2 + 4 * CONTEXT_FREQS
        self.point = nn.Sequential(
            nn.Linear(n_in, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width * channels)
        )
        self.pooled = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, latent_dim))

    def forward(self, coords: Tensor, values: Tensor) -> Tensor:
        """``(B, M, 2)`` coordinates and ``(B, M, C)`` values on the [-1, 1] scale -> ``(B, latent_dim)``."""
        phi = self.point(fourier_features(coords)).unflatten(-1, (self.width, self.channels))  # (B, M, width, C)
        h = (phi * values[..., None, :]).sum(-1)
        return self.pooled(h.mean(dim=1))  # type: ignore[no-any-return]
