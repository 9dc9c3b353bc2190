"""The procedural test image (always available, no scikit-image needed) and the image-size checks that
:mod:`neuralfields.data` shares (a low module)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .errors import ConfigError, ShapeError

__all__ = ["synthetic_image"]


_MAX_IMAGE_VALUES = 2**31


def _check_image_size(h: int, w: int, channels: int) -> None:
    if h * w * channels > _MAX_IMAGE_VALUES:
        raise ConfigError(
            f"an image of {h}x{w} with {channels} channels holds {h * w * channels:,} values, more than the "
            f"{_MAX_IMAGE_VALUES:,} an image may hold (8 GiB of float32)"
        )


def synthetic_image(size: int | Sequence[int] = 256, channels: int = 1) -> Tensor:
    """A deterministic test image with smooth regions, sharp edges and fine detail.

    Args:
        size: ``H`` or ``(H, W)``.
        channels: 1 (grey) or 3 (colour).

    Returns:
        ``(channels, H, W)`` in [0, 1].

    Example:
        >>> synthetic_image(64, channels=3).shape
        torch.Size([3, 64, 64])
    """
    h, w = _size(size)
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels!r}")
    _check_image_size(h, w, channels)
    from .grid import make_grid

    g = make_grid((h, w), dtype=torch.float64)
    y, x = g[..., 0], g[..., 1]
    r = torch.sqrt((x - 0.35) ** 2 + (y + 0.3) ** 2)
    layers = []
    for c in range(channels):
        phase = 2.0 * math.pi * c / 3.0
        img = 0.35 + 0.25 * x * math.cos(phase) + 0.15 * y
        img = img + 0.2 * torch.cos(40.0 * r + phase) * torch.exp(-6.0 * r)  # chirped rings
        img = img + 0.3 * ((x.abs() < 0.35) & ((y - 0.4).abs() < 0.2)).double()  # a sharp box
        img = img - 0.25 * ((x + 0.5) ** 2 + (y - 0.55) ** 2 < 0.04).double()  # a sharp disc
        img = img + 0.08 * torch.sin(25.0 * x + 10.0 * y + phase)  # fine stripes
        layers.append(img)
    return torch.stack(layers).clamp(0.0, 1.0).float()


def _size(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = size  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ShapeError(f"size must be an int or (H, W), got {size!r}") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (h, w)):
        raise ShapeError(f"size must hold positive ints, got {size!r}")
    return h, w
