"""Forward operators of inverse problems: ``y = A x (+ noise)`` on images ``(B, C, H, W)``.

Every operator is linear and has its adjoint (``<A x, y> = <x, A^T y>``, checked by
:meth:`Operator.adjointness_test` for each registered operator): denoising (identity), inpainting (a
mask), super-resolution (average-pool downsampling) and deblurring (a Gaussian blur from kornia).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_images
from .._config import Configurable
from .._registry import config_repr, register
from ..errors import ConfigError, InvalidDataError, ShapeError
from ..grid import _check_shape, holdout_mask

__all__ = ["Operator", "Denoise", "Mask", "Downsample", "Blur"]


class Operator(Configurable, nn.Module):
    """A linear forward operator ``A`` on images ``(B, C, H, W)``, with its adjoint (registry kind ``"operator"``).

    Subclasses implement :meth:`forward` (``A x``) and :meth:`adjoint` (``A^T y``), register with
    ``@neuralfields.register("operator", name)``, and override :meth:`example_image_size` when they only
    take some image sizes. Their :attr:`config` is captured from the constructor's arguments.

    Example:
        >>> op = Downsample(2)
        >>> op.example_image_size(), op.adjointness_test() < 1e-12
        ((4, 6), True)
    """

    def example_image_size(self) -> tuple[int, int]:
        """An image size ``(H, W)`` this operator takes (used by :meth:`adjointness_test` and the contract
        suite); non-square, so that swapped axes show."""
        return (6, 10)

    def adjointness_test(
        self, shape: Sequence[int] | None = None, *, seed: int = 0, dtype: torch.dtype = torch.float64
    ) -> float:
        """The relative adjointness error ``|<A x, y> - <x, A^T y>| / max(|<A x, y>|, |<x, A^T y>|)``.

        ``x`` is standard normal and ``y = A x + n`` with standard normal ``n``, so the inner products are
        far from 0 (about ``|A x|^2``) and the error is about the dtype's rounding (~1e-16 in float64) for
        a correct adjoint and of order 1 for a wrong one (a missing factor, a transposed or shifted
        adjoint); 0 when ``A`` maps ``x`` to 0 and ``A^T`` maps ``y`` to 0.

        Args:
            shape: ``(H, W)`` (a batch of 2 with 3 channels) or ``(B, C, H, W)``; default
                :meth:`example_image_size`.
            seed: seed of ``x`` and ``n``.
            dtype: dtype of the test (float64 gives the tightest check).

        Returns:
            The relative error, a Python float.

        Raises:
            ShapeError: ``shape`` is neither ``(H, W)`` nor ``(B, C, H, W)``.
        """
        dims = tuple(int(n) for n in (shape if shape is not None else self.example_image_size()))
        if len(dims) == 2:
            dims = (2, 3, *dims)
        if len(dims) != 4 or min(dims) < 1:
            raise ShapeError(f"shape must be (H, W) or (B, C, H, W) of positive sizes, got {shape!r}")
        gen = torch.Generator().manual_seed(seed)
        device = next(iter(self.buffers()), torch.empty(0)).device
        x = torch.randn(dims, generator=gen, dtype=dtype).to(device)
        with torch.no_grad():
            ax = self(x)
            y = ax + torch.randn(ax.shape, generator=gen, dtype=dtype).to(device)
            aty = self.adjoint(y)
        lhs, rhs = float((ax * y).sum()), float((x * aty).sum())
        scale = max(abs(lhs), abs(rhs))
        return abs(lhs - rhs) / scale if scale > 0 else 0.0

    def _check(self, x: Tensor, what: str = "x") -> Tensor:
        return check_images(x, what)

    def forward(self, x: Tensor) -> Tensor:
        """``A x``."""
        raise NotImplementedError

    def adjoint(self, y: Tensor) -> Tensor:
        """``A^T y``."""
        raise NotImplementedError

    def measure(self, x: Tensor, sigma: float = 0.0, seed: int = 0) -> Tensor:
        """A noisy measurement ``A x + sigma * n`` with Gaussian ``n`` drawn from ``seed``.

        Raises:
            ConfigError: ``sigma`` is negative.
            InvalidDataError: ``x`` holds NaN or infinite values.
        """
        if not isinstance(sigma, (int, float)) or sigma < 0 or not math.isfinite(sigma):
            raise ConfigError(f"sigma must be a finite number >= 0, got {sigma!r}")
        self._check(x)
        if not bool(torch.isfinite(x).all()):
            raise InvalidDataError("x contains NaN or infinite values")
        y = self(x)
        if sigma:
            gen = torch.Generator(device="cpu").manual_seed(seed)
            y = y + sigma * torch.randn(y.shape, generator=gen, dtype=y.dtype).to(y.device)
        return y

    def extra_repr(self) -> str:
        return config_repr(self)


@register("operator", "denoise")
class Denoise(Operator):
    """The identity: the measurement is the image itself (plus the noise of :meth:`measure`).

    Example:
        >>> x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> op = Denoise()
        >>> bool(torch.equal(op(x), x)), op.adjointness_test() < 1e-12
        (True, True)
        >>> y = op.measure(x, sigma=0.1, seed=0)  # x plus Gaussian noise of std 0.1
        >>> round(float((y - x).std()), 1)
        0.1
    """

    def forward(self, x: Tensor) -> Tensor:
        return self._check(x)

    def adjoint(self, y: Tensor) -> Tensor:
        return self._check(y, "y")


_MAX_MASK_PIXELS = 2**31  # 8 GiB of float32: far beyond any image these operators are for


@register("operator", "mask", example={"shape": [6, 10], "kind": "random", "fraction": 0.3, "seed": 1})
class Mask(Operator):
    """Inpainting: pixels where the mask is 0 are not observed (``A x = m * x``, self-adjoint).

    Args:
        shape: image size ``(H, W)``.
        kind: ``"quarter"`` hides the bottom-right quarter; ``"random"`` hides ``fraction`` of the
            pixels at random (fixed by ``seed``); ``"none"`` hides nothing.
        fraction: hidden fraction for ``"random"``.
        seed: seed of the random mask.

    Attributes:
        mask: ``(H, W)`` float buffer, 1 where observed.

    Example:
        >>> op = Mask((4, 4), kind="quarter")
        >>> int(op.mask.sum())
        12
    """

    def __init__(self, shape: Sequence[int], kind: str = "quarter", fraction: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        dims = _check_shape(shape)
        if len(dims) != 2:
            raise ShapeError(f"shape must be (H, W), got {shape!r}")
        h, w = dims
        if h * w > _MAX_MASK_PIXELS:
            raise ConfigError(f"a {h}x{w} mask has {h * w:,} pixels, more than the {_MAX_MASK_PIXELS:,} a Mask holds")
        if kind == "quarter":
            mask = torch.ones(h, w)
            mask[h // 2 :, w // 2 :] = 0.0
        elif kind == "random":
            mask = (~holdout_mask((h, w), fraction, seed=seed)).float()
        elif kind == "none":
            mask = torch.ones(h, w)
        else:
            raise ConfigError(f"unknown mask kind {kind!r}; use 'quarter', 'random' or 'none'")
        self.shape, self.kind, self.fraction, self.seed = (h, w), kind, float(fraction), seed
        self.register_buffer("mask", mask)

    def example_image_size(self) -> tuple[int, int]:
        """The mask's size."""
        return self.shape

    def _masked(self, x: Tensor, what: str) -> Tensor:
        self._check(x, what)
        if tuple(x.shape[-2:]) != self.shape:
            raise ShapeError(f"the mask is {self.shape[0]}x{self.shape[1]} but {what} is {x.shape[-2]}x{x.shape[-1]}")
        return x * self.mask.to(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._masked(x, "x")

    def adjoint(self, y: Tensor) -> Tensor:
        return self._masked(y, "y")


@register("operator", "downsample", example={"factor": 2})
class Downsample(Operator):
    """Super-resolution: average pooling by ``factor`` (adjoint: nearest upsampling divided by ``factor**2``).

    Example:
        >>> op = Downsample(2)
        >>> op(torch.arange(16.0).reshape(1, 1, 4, 4)).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
        >>> op.adjoint(torch.ones(1, 1, 2, 2)).tolist()
        [[[[0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]]]]
    """

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        if not isinstance(factor, int) or factor < 1:
            raise ConfigError(f"factor must be a positive int, got {factor!r}")
        self.factor = factor

    def example_image_size(self) -> tuple[int, int]:
        """``(2 * factor, 3 * factor)``: sizes must be multiples of the factor."""
        return (2 * self.factor, 3 * self.factor)

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        if x.shape[-2] % self.factor or x.shape[-1] % self.factor:
            raise ShapeError(f"image size {tuple(x.shape[-2:])} is not divisible by the factor {self.factor}")
        return F.avg_pool2d(x, self.factor)

    def adjoint(self, y: Tensor) -> Tensor:
        self._check(y, "y")
        return F.interpolate(y, scale_factor=self.factor, mode="nearest") / self.factor**2


@register("operator", "blur", example={"kernel_size": 5, "sigma": 1.2})
class Blur(Operator):
    """Deblurring: a Gaussian blur (kernel from :func:`kornia.filters.get_gaussian_kernel2d`), zero padding.

    The kernel is symmetric, so with zero padding the blur is its own adjoint.

    Args:
        kernel_size: odd kernel size.
        sigma: the Gaussian's standard deviation in pixels (> 0).

    Example:
        >>> op = Blur(kernel_size=5, sigma=1.0)
        >>> x = torch.zeros(1, 1, 9, 9)
        >>> x[0, 0, 4, 4] = 1.0  # a point: the blur spreads it, keeping its total
        >>> y = op(x)
        >>> round(float(y.sum()), 4), float(y.max()) < 0.2, op.adjointness_test() < 1e-12
        (1.0, True, True)
    """

    def __init__(self, kernel_size: int = 7, sigma: float = 1.5) -> None:
        super().__init__()
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
        if not isinstance(sigma, (int, float)) or not sigma > 0:
            raise ConfigError(f"sigma must be > 0, got {sigma!r}")
        from kornia.filters import get_gaussian_kernel2d

        self.kernel_size, self.sigma = kernel_size, float(sigma)
        kernel = get_gaussian_kernel2d((kernel_size, kernel_size), (self.sigma, self.sigma))
        self.register_buffer("kernel", kernel.reshape(1, 1, kernel_size, kernel_size), persistent=False)

    def _conv(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        k = self.kernel.to(x).expand(c, 1, -1, -1)
        return F.conv2d(x, k, padding=self.kernel_size // 2, groups=c)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv(self._check(x))

    def adjoint(self, y: Tensor) -> Tensor:
        return self._conv(self._check(y, "y"))
