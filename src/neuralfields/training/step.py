"""The training step of :func:`~neuralfields.fit`: a mean squared error and its gradient, in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import torch
from torch import Tensor

from ..errors import ConfigError, ShapeError
from ..fields.base import Field

__all__ = ["mse_backward", "CPU_CHUNK_SIZE"]

CPU_CHUNK_SIZE = 4096
"""Points per chunk of a training step on the CPU (measured: ``benchmarks/train_step.py``). The
activations of 4,096 points of a 256-wide SIREN stay in cache, and the allocator reuses the same few
megabytes every chunk instead of page-faulting on fresh memory: same speed or faster than the full
batch at once, and a fraction of its memory."""


def mse_backward(
    field: Field,
    coords: Tensor,
    targets: Tensor,
    *,
    chunk_size: Optional[int] | str = "auto",
    forward: Optional[Callable[[Tensor], Tensor]] = None,
) -> float:
    """Mean squared error of ``field`` on ``(coords, targets)``; adds its gradient to the parameters' ``.grad``.

    The batch is processed in chunks whose gradients add up to the full batch's gradient (the mean
    is over all ``N * C`` values), through :meth:`Field.accumulate_mse_grad` (hand-written for a
    :class:`~neuralfields.Siren` on the CPU). Call ``optimizer.zero_grad()`` before and
    ``optimizer.step()`` after, as with ``loss.backward()``.

    Args:
        field: the field being trained.
        coords: ``(N, in_features)``.
        targets: ``(N, out_features)``.
        chunk_size: points per chunk; ``"auto"`` is :data:`CPU_CHUNK_SIZE` on the CPU and the whole
            batch elsewhere; ``None`` for the whole batch.
        forward: evaluate this callable (e.g. a compiled ``field``) with autograd on the whole batch
            instead.

    Returns:
        The mean squared error (a float).

    Example:
        >>> import neuralfields as nf
        >>> f = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)
        >>> x, y = torch.rand(100, 2), torch.rand(100, 1)
        >>> loss = mse_backward(f, x, y, chunk_size=32)
        >>> with torch.no_grad():
        ...     ref = float(((f(x) - y) ** 2).mean())
        >>> abs(loss - ref) < 1e-6, f.layers[0].weight.grad.shape
        (True, torch.Size([16, 2]))
    """
    if coords.dim() != 2 or targets.dim() != 2 or coords.shape[0] != targets.shape[0]:
        raise ShapeError(
            f"coords and targets must have shapes (N, d) and (N, C) with the same N, "
            f"got {tuple(coords.shape)} and {tuple(targets.shape)}"
        )
    if targets.shape[1] != field.out_features:
        raise ShapeError(
            f"targets have {targets.shape[1]} channels but the field has out_features={field.out_features}"
        )
    n = coords.shape[0]
    denominator = float(targets.numel())
    if forward is not None:
        loss = torch.mean((forward(coords) - targets) ** 2)
        loss.backward()
        return float(loss.detach())
    if chunk_size == "auto":
        chunk_size = CPU_CHUNK_SIZE if coords.device.type == "cpu" else None
    if chunk_size is None:
        chunk_size = n
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive int, None or 'auto', got {chunk_size!r}")
    total = torch.zeros((), dtype=torch.float64, device=coords.device)
    for s in range(0, n, chunk_size):
        total += field.accumulate_mse_grad(coords[s : s + chunk_size], targets[s : s + chunk_size], denominator)
    return float(total) / denominator
