"""Coordinate grids, signal <-> sample conversion, pixel samplers and held-out masks.

Conventions (the docs' architecture page and ``shared/DESIGN.md`` in the repository state them too):

* coordinates live in the last dimension, in [-1, 1];
* grids use pixel centres: pixel ``i`` of ``n`` sits at ``-1 + (2i + 1) / n``, so a grid of any
  resolution covers the same square and average-pooling a ``k``-times finer grid gives the coarse one;
* coordinate ``j`` runs along signal dimension ``j`` (for an image ``(C, H, W)``: ``coords[..., 0]`` is
  the row (y, downwards), ``coords[..., 1]`` the column (x)).

All functions are pure; everything random takes a ``seed`` and gives the same result for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from ._checks import check_seed, generator
from .errors import ConfigError, DTypeError, ShapeError

__all__ = [
    "pixel_centers",
    "make_grid",
    "grid_coords",
    "signal_to_samples",
    "samples_to_signal",
    "holdout_mask",
    "holdout_masks",
    "RandomBatches",
]


def _check_shape(shape: Sequence[int] | int, what: str = "shape") -> tuple[int, ...]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ShapeError(f"{what} must be a sequence of positive ints, got {shape!r}") from None
    if not dims or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in dims):
        raise ShapeError(f"{what} must be a non-empty sequence of positive ints, got {shape!r}")
    return dims


def pixel_centers(
    n: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Centres of ``n`` equal cells covering [-1, 1].

    Args:
        n: number of pixels along the axis.

    Returns:
        Tensor ``(n,)`` with entry ``i`` equal to ``-1 + (2i + 1) / n``.

    Example:
        >>> pixel_centers(4)
        tensor([-0.7500, -0.2500,  0.2500,  0.7500])
    """
    (n,) = _check_shape(n, "n")
    i = torch.arange(n, device=device, dtype=torch.float64)
    return (-1.0 + (2.0 * i + 1.0) / n).to(dtype)


def make_grid(
    shape: Sequence[int], *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Pixel-centre coordinate grid for a signal of any number of dimensions.

    Args:
        shape: spatial shape ``(n_1, ..., n_d)``, e.g. ``(H, W)`` for an image.

    Returns:
        Tensor ``(n_1, ..., n_d, d)``; ``grid[i_1, ..., i_d, j]`` is the centre of pixel ``i_j``
        along dimension ``j``.

    Example:
        >>> make_grid((2, 3)).shape
        torch.Size([2, 3, 2])
        >>> make_grid((2, 3))[1, 0]
        tensor([ 0.5000, -0.6667])
    """
    dims = _check_shape(shape)
    if not dtype.is_floating_point:
        raise DTypeError(f"grid dtype must be floating point, got {dtype}")
    axes = [pixel_centers(n, device=device, dtype=dtype) for n in dims]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


def grid_coords(
    shape: Sequence[int],
    indices: Tensor,
    *,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Coordinates of selected pixels of a grid, without building the whole grid.

    Args:
        shape: spatial shape ``(n_1, ..., n_d)``.
        indices: flat (row-major) pixel indices, shape ``(N,)``.

    Returns:
        Tensor ``(N, d)``, equal to ``make_grid(shape).reshape(-1, d)[indices]``.

    Example:
        >>> idx = torch.tensor([0, 5, 11])
        >>> bool(torch.equal(grid_coords((3, 4), idx), make_grid((3, 4)).reshape(-1, 2)[idx]))
        True
        >>> grid_coords((2, 2), torch.tensor([3])).tolist()  # the last pixel's centre
        [[0.5, 0.5]]
    """
    dims = _check_shape(shape)
    rest = indices.long()
    out = []
    for n in reversed(dims):
        i = rest % n
        rest = rest // n
        out.append(-1.0 + (2.0 * i.to(torch.float64) + 1.0) / n)
    return torch.stack(out[::-1], dim=-1).to(dtype)


def _check_signal(signal: Tensor) -> Tensor:
    if not isinstance(signal, Tensor):
        raise DTypeError(f"signal must be a torch.Tensor, got {type(signal).__name__}")
    if signal.dim() < 2:
        raise ShapeError(
            f"signal must have shape (C, *spatial) with at least one spatial dimension, "
            f"got shape {tuple(signal.shape)}; add a channel dimension with signal[None]"
        )
    if not signal.is_floating_point():
        raise DTypeError(
            f"signal must be a floating-point tensor, got {signal.dtype}; "
            f"convert 8-bit images with signal.float() / 255"
        )
    if signal.shape[0] == 0 or 0 in signal.shape[1:]:
        raise ShapeError(f"signal must have at least one channel and one sample, got shape {tuple(signal.shape)}")
    return signal


def signal_to_samples(signal: Tensor) -> tuple[Tensor, Tensor]:
    """Split a signal into coordinates and values.

    Args:
        signal: tensor ``(C, n_1, ..., n_d)`` (an image is ``(C, H, W)``).

    Returns:
        ``(coords, values)`` with shapes ``(N, d)`` and ``(N, C)``, ``N = n_1 * ... * n_d``,
        in row-major pixel order; coords have the signal's dtype and device.

    Example:
        >>> coords, values = signal_to_samples(torch.rand(3, 4, 5))
        >>> coords.shape, values.shape
        (torch.Size([20, 2]), torch.Size([20, 3]))
    """
    signal = _check_signal(signal)
    c, spatial = signal.shape[0], tuple(signal.shape[1:])
    coords = make_grid(spatial, device=signal.device, dtype=signal.dtype).reshape(-1, len(spatial))
    values = signal.reshape(c, -1).transpose(0, 1)
    return coords, values


def samples_to_signal(values: Tensor, shape: Sequence[int]) -> Tensor:
    """Inverse of :func:`signal_to_samples`: values ``(N, C)`` in pixel order -> ``(C, *shape)``.

    Raises:
        ShapeError: ``N`` is not the number of pixels of ``shape``.

    Example:
        >>> signal = torch.rand(3, 4, 5)
        >>> coords, values = signal_to_samples(signal)
        >>> bool(torch.equal(samples_to_signal(values, (4, 5)), signal))
        True
    """
    dims = _check_shape(shape)
    if values.dim() != 2 or values.shape[0] != math.prod(dims):
        raise ShapeError(
            f"values must have shape (N, C) with N = {math.prod(dims)} pixels of shape {dims}, "
            f"got {tuple(values.shape)}"
        )
    return values.transpose(0, 1).reshape(values.shape[1], *dims)


def _num_held_out(n: int, fraction: float) -> int:
    if not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise ConfigError(f"held-out fraction must be in [0, 1), got {fraction!r}")
    return int(round(fraction * n))


def holdout_mask(shape: Sequence[int], fraction: float, seed: int = 0) -> Tensor:
    """A fixed random set of held-out pixels.

    Exactly ``round(fraction * N)`` of the ``N`` pixels are held out; the same ``seed`` gives the same
    mask every time.

    Args:
        shape: spatial shape of the signal.
        fraction: fraction of pixels to hold out, in [0, 1).
        seed: random seed.

    Returns:
        Boolean tensor of ``shape``, ``True`` where a pixel is held out.

    Example:
        >>> int(holdout_mask((10, 10), 0.1, seed=0).sum())
        10
    """
    dims = _check_shape(shape)
    n = math.prod(dims)
    k = _num_held_out(n, fraction)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.randperm(n, generator=generator(seed))[:k]] = True
    return mask.reshape(dims)


def holdout_masks(num_items: int, shape: Sequence[int], fraction: float, seed: int = 0) -> Tensor:
    """One fixed held-out mask per item of a dataset.

    Item ``i``'s mask depends only on ``seed`` and ``i`` (not on ``num_items``), so adding items to a
    dataset keeps the masks of the others.

    Returns:
        Boolean tensor ``(num_items, *shape)``.

    Example:
        >>> masks = holdout_masks(3, (10, 10), 0.2, seed=0)
        >>> masks.shape, masks.sum((1, 2)).tolist(), bool(torch.equal(masks[0], masks[1]))
        (torch.Size([3, 10, 10]), [20, 20, 20], False)
        >>> bool(torch.equal(holdout_masks(5, (10, 10), 0.2, seed=0)[:3], masks))  # more items: same masks
        True
    """
    if not isinstance(num_items, int) or num_items < 0:
        raise ConfigError(f"num_items must be a non-negative int, got {num_items!r}")
    dims = _check_shape(shape)
    masks = [holdout_mask(dims, fraction, seed=_item_seed(seed, i)) for i in range(num_items)]
    return torch.stack(masks) if masks else torch.zeros((0, *dims), dtype=torch.bool)


def _item_seed(seed: int, i: int) -> int:
    # a fixed mixing of (seed, i) into one 63-bit seed (splitmix-style constants)
    x = (seed * 0x9E3779B97F4A7C15 + i * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % (1 << 64)
    x ^= x >> 31
    return x % (1 << 63)


class RandomBatches:
    """Random batches of sample indices, without replacement within an epoch.

    Every index appears exactly once per epoch (the last batch of an epoch is smaller when the
    batch size does not divide the number of samples). Batch ``step`` is a pure function of
    ``(seed, step)``, so a fit can resume at any step and draw the same batches.

    Args:
        num_samples: number of samples to draw from (e.g. pixels).
        batch_size: samples per batch; at least 1.
        seed: random seed.

    Example:
        >>> sampler = RandomBatches(10, 4, seed=0)
        >>> [len(b) for b in sampler.epoch(0)]
        [4, 4, 2]
        >>> sorted(torch.cat(list(sampler.epoch(0))).tolist()) == list(range(10))
        True
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int = 0) -> None:
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ConfigError(f"num_samples must be a positive int, got {num_samples!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
        self.num_samples = num_samples
        self.batch_size = min(batch_size, num_samples)
        self.seed = check_seed(seed)
        self.batches_per_epoch = -(-num_samples // self.batch_size)
        self._cached: tuple[int, Tensor] | None = None

    def permutation(self, epoch: int) -> Tensor:
        """The order of the samples in ``epoch``."""
        if self._cached is None or self._cached[0] != epoch:
            gen = torch.Generator().manual_seed(_item_seed(self.seed, epoch))
            self._cached = (epoch, torch.randperm(self.num_samples, generator=gen))
        return self._cached[1]

    def batch(self, step: int) -> Tensor:
        """Indices ``(batch,)`` of the batch drawn at ``step`` (0-based)."""
        epoch, k = divmod(step, self.batches_per_epoch)
        start = k * self.batch_size
        return self.permutation(epoch)[start : start + self.batch_size]

    def epoch(self, epoch: int) -> Iterator[Tensor]:
        """The batches of one epoch, in order."""
        for k in range(self.batches_per_epoch):
            yield self.batch(epoch * self.batches_per_epoch + k)
