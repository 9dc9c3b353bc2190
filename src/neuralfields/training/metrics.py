"""Image quality metrics on the [0, 1] scale: PSNR and SSIM."""

from __future__ import annotations

import torch
from torch import Tensor

from .._metrics import psnr_from_mse
from ..errors import ShapeError

__all__ = ["psnr", "mse_to_psnr", "ssim"]


mse_to_psnr = psnr_from_mse
"""PSNR in dB of a mean squared error on a scale of width ``data_range`` (``inf`` for 0): the library's one
PSNR rule (:func:`neuralfields._metrics.psnr_from_mse`)."""


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ShapeError(f"prediction and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")


def psnr(pred: Tensor, target: Tensor, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB over all elements.

    Args:
        pred, target: tensors of the same shape, e.g. images ``(C, H, W)`` in [0, 1].
        data_range: width of the value range (1 for [0, 1]).

    Example:
        >>> round(psnr(torch.full((1, 4, 4), 0.1), torch.zeros(1, 4, 4)), 3)
        20.0
    """
    _check_pair(pred, target)
    return mse_to_psnr(torch.mean((pred.detach().double() - target.detach().double()) ** 2), data_range)


def ssim(pred: Tensor, target: Tensor, window_size: int = 11, data_range: float = 1.0) -> float:
    """Structural similarity (mean over the image) through :func:`kornia.metrics.ssim`.

    Args:
        pred, target: images ``(C, H, W)`` or ``(B, C, H, W)`` in [0, 1].
        window_size: odd Gaussian window size (smaller for tiny images).

    Example:
        >>> img = torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> noisy = (img + 0.1 * torch.randn(1, 16, 16, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
        >>> ssim(img, img), 0.5 < ssim(noisy, img) < 1.0, ssim(1 - img, img) < 0.0
        (1.0, True, True)
    """
    _check_pair(pred, target)
    if pred.dim() == 3:
        pred, target = pred[None], target[None]
    if pred.dim() != 4:
        raise ShapeError(f"ssim expects images (C, H, W) or (B, C, H, W), got {tuple(pred.shape)}")
    import kornia.metrics

    window_size = min(window_size, *pred.shape[-2:])
    window_size -= 1 - window_size % 2  # kornia needs an odd window
    value = kornia.metrics.ssim(pred.detach().float(), target.detach().float(), window_size, max_val=data_range)
    return float(value.mean())
