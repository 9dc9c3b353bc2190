"""PSNR, one rule everywhere (a low module every layer may use): identical signals have an infinite PSNR.

Every PSNR the library reports (training histories, held-out PSNR, restoration, reports) comes from these
two functions, so the same error gives the same number wherever it is measured.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["psnr_from_mse", "psnr_per_item"]


def psnr_from_mse(mse: float | Tensor, data_range: float = 1.0) -> float:
    """PSNR in dB of a mean squared error on a scale of width ``data_range``.

    ``inf`` for an error of 0 (identical signals), ``-inf`` for an infinite error, ``nan`` for ``nan``.

    Example:
        >>> psnr_from_mse(0.01), psnr_from_mse(0.0), psnr_from_mse(0.04, data_range=2.0)
        (20.0, inf, 20.0)
    """
    mse = float(mse)
    if math.isnan(mse):
        return math.nan
    if mse <= 0.0:
        return math.inf
    if math.isinf(mse):
        return -math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def psnr_per_item(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """PSNR in dB of each item of a batch ``(B, ...) -> (B,)`` (float64), with the rule of :func:`psnr_from_mse`.

    Example:
        >>> psnr_per_item(torch.tensor([[0.1, 0.1], [0.0, 0.0]]), torch.zeros(2, 2)).round().tolist()
        [20.0, inf]
    """
    mse = ((x.detach().double() - ref.detach().double()) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(data_range**2 / mse)  # 1/0 is inf in floating point: identical items get inf
