"""Total variation: the classical image prior, as a baseline for the learned ones."""

from __future__ import annotations

import torch
from torch import Tensor

from .._registry import register
from ..errors import ConfigError, DTypeError, ShapeError
from .base import Prior

__all__ = ["TotalVariation", "total_variation"]


def total_variation(x: Tensor, eps: float = 1e-3, isotropic: bool = True) -> Tensor:
    """Total variation of images ``(B, C, H, W)``, one value per image ``(B,)``.

    Isotropic: ``sum sqrt(dx^2 + dy^2 + eps^2)`` over pixels and channels (forward differences, the last
    row and column repeat so their difference is 0); ``eps`` keeps the gradient finite on flat regions.
    Anisotropic: ``sum |dx| + |dy|``.

    Example:
        >>> flat, ramp = torch.zeros(1, 1, 4, 4), torch.arange(4.0).repeat(4, 1)[None, None]
        >>> round(float(total_variation(ramp, eps=0.0)), 3), float(total_variation(flat, eps=0.0))
        (12.0, 0.0)
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise DTypeError(f"images must be a floating-point tensor, got {getattr(x, 'dtype', type(x))}")
    if x.dim() != 4:
        raise ShapeError(f"images must have shape (B, C, H, W), got {tuple(x.shape)}")
    dx = torch.diff(x, dim=-1, append=x[..., -1:])
    dy = torch.diff(x, dim=-2, append=x[..., -1:, :])
    if isotropic:
        per_pixel = torch.sqrt(dx**2 + dy**2 + eps**2) - eps  # 0 on flat regions
    else:
        per_pixel = dx.abs() + dy.abs()
    return per_pixel.flatten(1).sum(1)


@register("prior", "tv", example={"eps": 0.01})
class TotalVariation(Prior):
    """The total-variation prior ``E(x) = TV(x) / T`` (see :func:`total_variation`).

    It has no parameters: nothing to train, and it is the baseline of the learned priors.

    Scale of ``lam``: the energy sums over pixels like the data term ``||A x - y||^2 / (2 sigma^2)``, so
    a weight suits images of every size. On 64x64 grey crops of camera, astronaut and coffee
    (``benchmarks/restoration.py``), ``lam="auto"`` chose about 8 to 9 at Gaussian noise of sigma 0.05, 6 to
    7 at 0.1 and 4 at 0.2 (``lam * sigma^2``, the weight relative to the unnormalised squared error, grows
    with the noise); ``lam = 1`` barely denoises. The ``lam="auto"`` grid spans ``lam_range = (0.1, 1000)``.

    Args:
        eps: smoothing of the isotropic norm.
        isotropic: isotropic (default) or anisotropic TV.
        temperature: ``T``.

    Example:
        >>> TotalVariation().energy(torch.rand(3, 1, 8, 8)).shape
        torch.Size([3])
    """

    def __init__(self, eps: float = 1e-3, isotropic: bool = True, temperature: float = 1.0) -> None:
        super().__init__()
        if not isinstance(eps, (int, float)) or eps < 0:
            raise ConfigError(f"eps must be >= 0, got {eps!r}")
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature!r}")
        self.eps, self.isotropic, self.temperature = float(eps), bool(isotropic), float(temperature)

    def energy(self, x: Tensor) -> Tensor:
        """``TV(x) / T`` per image ``(B,)``."""
        return total_variation(self.check_images(x), self.eps, self.isotropic) / self.temperature
