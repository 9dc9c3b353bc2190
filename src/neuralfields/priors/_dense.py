"""A small sequential network of affine layers (convolutions, transposed convolutions, linear layers,
reshapes) and GELUs, rewritten as matrix products on flat vectors: for inputs of a few dozen pixels, one
large matrix product per layer runs several times faster on a CPU than convolutions on tiny images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor, nn
from torch.nn import functional as F

Op = Union[str, tuple[Tensor, Tensor]]  # "gelu", or (W (n_in, n_out), b (n_out,))


def affine_chain(layers: nn.Sequential, shape: Sequence[int]) -> list[Op]:
    """The layers acting on inputs of ``shape`` (without the batch) as ``[(W, b) or "gelu", ...]``.

    Each affine layer's matrix comes from applying it to the zero input and the unit basis (exact: the
    layers are affine), so the result stays differentiable in the layers' parameters; consecutive affine
    layers are merged into one.

    Example:
        >>> seq = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.GELU(), nn.Flatten(), nn.Linear(8, 3))
        >>> ops = affine_chain(seq, (1, 4, 4))
        >>> x = torch.rand(5, 1, 4, 4)
        >>> torch.allclose(run_chain(ops, x.flatten(1)), seq(x), atol=1e-6)
        True
    """
    ops: list[Op] = []
    shape = tuple(shape)
    for layer in layers:
        if isinstance(layer, nn.GELU):
            ops.append("gelu")
            continue
        if isinstance(layer, (nn.Flatten, nn.Unflatten)):
            shape = tuple(layer(torch.zeros(1, *shape)).shape[1:])
            continue
        if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            raise TypeError(f"affine_chain takes affine layers, reshapes and GELUs, got {type(layer).__name__}")
        n = 1
        for s in shape:
            n *= s
        param = next(layer.parameters())
        basis = torch.cat([torch.zeros(1, n), torch.eye(n)]).to(param).reshape(n + 1, *shape)
        out = layer(basis)
        shape = tuple(out.shape[1:])
        out = out.flatten(1)
        w, b = out[1:] - out[0], out[0]
        if ops and not isinstance(ops[-1], str):
            w0, b0 = ops.pop()  # type: ignore[misc]
            w, b = w0 @ w, b0 @ w + b
        ops.append((w, b))
    return ops


def run_chain(ops: Sequence[Op], v: Tensor) -> Tensor:
    """Apply an :func:`affine_chain` to flat inputs ``(N, n_in) -> (N, n_out)``."""
    for op in ops:
        v = F.gelu(v) if isinstance(op, str) else torch.addmm(op[1], v, op[0])
    return v
