"""Evaluate a field on a pixel-centre grid of any resolution, in chunks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..errors import ConfigError, InvalidDataError, ShapeError
from ..grid import _check_shape, grid_coords
from .base import Field

__all__ = ["render", "to_unit", "from_unit"]


def to_unit(values: Tensor) -> Tensor:
    """Field values in [-1, 1] -> the [0, 1] scale of images (not clamped)."""
    return values * 0.5 + 0.5


def from_unit(values: Tensor) -> Tensor:
    """Image values in [0, 1] -> the [-1, 1] scale fields see."""
    return values * 2.0 - 1.0


@torch.no_grad()
def render(
    field: Field,
    shape: Sequence[int],
    *,
    chunk_size: int = 65536,
    unit_range: bool = True,
    clamp: bool = True,
    device: torch.device | str | None = None,
) -> Tensor:
    """Render a field on a pixel-centre grid of any shape.

    The grid is built chunk by chunk, so only ``chunk_size`` coordinates (and the field's activations
    for them) are in memory at once: a 4096x4096 render needs little more than its output.

    Args:
        field: a field with ``in_features == len(shape)``.
        shape: spatial shape, e.g. ``(1024, 1024)``.
        chunk_size: coordinates evaluated per forward pass.
        unit_range: map values from the field's [-1, 1] to the [0, 1] scale of images.
        clamp: clamp to [0, 1] (only with ``unit_range``).
        device: where to put the output (e.g. ``"cpu"`` for a huge render of a GPU field); defaults to
            the field's device. The field is evaluated on its own device.

    Returns:
        ``(out_features, *shape)`` on ``device``, in the field's dtype.

    Raises:
        InvalidDataError: the field outputs NaN or infinite values (e.g. its weights are not finite).

    Example:
        >>> import neuralfields as nf
        >>> f = nf.Siren(2, 3, hidden_features=16, seed=0)
        >>> nf.render(f, (20, 30)).shape
        torch.Size([3, 20, 30])
    """
    dims = _check_shape(shape)
    if len(dims) != field.in_features:
        raise ShapeError(
            f"render shape {dims} has {len(dims)} dimensions but the field takes "
            f"{field.in_features}-D coordinates; give a shape with {field.in_features} entries"
        )
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive int, got {chunk_size!r}")
    param = next(iter(field.parameters()), None)
    dtype = param.dtype if param is not None else torch.float32
    at = param.device if param is not None else torch.device("cpu")
    device = torch.device(device) if device is not None else at
    n = math.prod(dims)
    out = torch.empty(field.out_features, n, dtype=dtype, device=device)
    for start in range(0, n, chunk_size):
        idx = torch.arange(start, min(start + chunk_size, n), device=at)
        values = field(grid_coords(dims, idx, dtype=dtype))
        if not bool(torch.isfinite(values).all()):
            raise InvalidDataError(
                f"the field's output holds NaN or infinite values (at coordinates of chunk {start // chunk_size}); "
                f"its weights are probably not finite (a diverged fit?)"
            )
        out[:, start : start + len(idx)] = values.T.to(device)
    out = out.reshape(field.out_features, *dims)
    if unit_range:
        out = to_unit(out)
        if clamp:
            out = out.clamp_(0.0, 1.0)
    return out
