"""The training step of the fitting functions: a loss and its gradient, with a fast path per field family.

:func:`accumulate_mse_grad` adds the gradient of a sum of squared errors to the parameters' ``.grad``.
It dispatches on the field's class: a family registers a hand-written step with
:func:`register_mse_step` (a :class:`~neuralfields.Siren` with the eager backend uses
:func:`~neuralfields.kernels.sine_mlp_mse_grad`), and every other field runs autograd. The loss lives
here, not in the model: models hold parameters and forward passes.
:func:`mse_backward` splits a batch into chunks on the CPU (same gradient, a fraction of the memory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Optional

import torch
from torch import Tensor
from torch.nn.utils import parametrize

from ..errors import ConfigError, ShapeError
from ..fields.base import Field
from ..fields.siren import Siren, resolve_backend
from ..kernels import sine_mlp_mse_grad

__all__ = ["mse_backward", "accumulate_mse_grad", "register_mse_step", "CPU_CHUNK_SIZE", "MSEStep"]

CPU_CHUNK_SIZE = 4096
"""Points per chunk of a training step on the CPU (measured: ``benchmarks/train_step.py``). The
activations of 4,096 points of a 256-wide SIREN stay in cache, and the allocator reuses the same few
megabytes every chunk instead of page-faulting on fresh memory: same speed or faster than the full
batch at once, and a fraction of its memory."""

MSEStep = Callable[[Field, Tensor, Tensor, float, Optional[Mapping[str, Tensor]]], Optional[Tensor]]
"""A family's fast step: ``(field, coords, targets, denominator, params) -> sum of squared errors``, or
``None`` when it does not apply to these inputs (the autograd step runs instead)."""

_MSE_STEPS: dict[type, MSEStep] = {}


def register_mse_step(cls: type) -> Callable[[MSEStep], MSEStep]:
    """Register a hand-written mean-squared-error step for a field class (and its subclasses).

    The step must add exactly what autograd would to every parameter's ``.grad`` (see
    :func:`accumulate_mse_grad`) and return the detached sum of squared errors, or return ``None`` to
    let autograd handle inputs it does not support.

    Example:
        >>> import neuralfields as nf
        >>> class MyField(nf.Siren):
        ...     pass
        >>> @register_mse_step(MyField)
        ... def my_step(field, coords, targets, denominator, params):
        ...     return None  # always defer to autograd
        >>> f = MyField(2, 1, hidden_features=8, seed=0)
        >>> float(accumulate_mse_grad(f, torch.zeros(4, 2), torch.zeros(4, 1), 4.0)) >= 0
        True
    """

    def decorator(step: MSEStep) -> MSEStep:
        _MSE_STEPS[cls] = step
        return step

    return decorator


def _autograd_step(field: Field, coords: Tensor, targets: Tensor, denominator: float, params: Optional[Mapping[str, Tensor]]) -> Tensor:
    pred = field(coords) if params is None else field.forward_batched(params, coords)
    if pred.shape != targets.shape:
        raise ShapeError(f"targets must have the shape of the field's output {tuple(pred.shape)}, got {tuple(targets.shape)}")
    sse = (pred - targets) ** 2
    sse = sse.sum() if params is None else sse.flatten(1).sum(1)
    (sse.sum() / denominator).backward()
    return sse.detach()


def accumulate_mse_grad(
    field: Field,
    coords: Tensor,
    targets: Tensor,
    denominator: float,
    params: Optional[Mapping[str, Tensor]] = None,
) -> Tensor:
    """Add the gradient of ``sum((field(coords) - targets)^2) / denominator`` to the parameters' ``.grad``.

    The step of :func:`~neuralfields.fit`, :func:`~neuralfields.fit_many` and
    :func:`~neuralfields.fit_dataset`: the family's registered fast step where there is one
    (:func:`register_mse_step`), else autograd.

    Args:
        field: the field.
        coords: ``(N, in_features)``, or ``(B, N, in_features)`` with ``params``.
        targets: ``(N, out_features)``, or ``(B, N, out_features)`` with ``params``.
        denominator: the loss's normaliser (the number of values in the whole batch, per item).
        params: batched parameters (see :meth:`~neuralfields.Field.batch_parameters`): their ``.grad``
            gets the gradient of every item's loss instead.

    Returns:
        The sum of squared errors, detached and not divided by ``denominator``: 0-dim, or ``(B,)`` per
        item with ``params``.

    Example:
        The SIREN's hand-written step gives autograd's gradient:

        >>> import neuralfields as nf
        >>> f = nf.Siren(2, 1, hidden_features=8, seed=0)
        >>> x = torch.rand(16, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
        >>> y = torch.rand(16, 1, generator=torch.Generator().manual_seed(1))
        >>> sse = accumulate_mse_grad(f, x, y, denominator=16.0)
        >>> fast = f.layers[0].weight.grad.clone()
        >>> f.zero_grad()
        >>> loss = ((f(x) - y) ** 2).sum()
        >>> (loss / 16.0).backward()
        >>> bool(torch.allclose(fast, f.layers[0].weight.grad, atol=1e-6)), bool(torch.allclose(sse, loss.detach()))
        (True, True)
    """
    for cls in type(field).__mro__:
        step = _MSE_STEPS.get(cls)
        if step is not None:
            out = step(field, coords, targets, denominator, params)
            if out is not None:
                return out
            break
    return _autograd_step(field, coords, targets, denominator, params)


@register_mse_step(Siren)
def _siren_step(field: Siren, coords: Tensor, targets: Tensor, denominator: float, params: Optional[Mapping[str, Tensor]]) -> Optional[Tensor]:
    """A SIREN's step written out by hand (:func:`~neuralfields.kernels.sine_mlp_mse_grad`): fewer passes
    over the activations than autograd, same gradients to rounding. Not used with the fused backend,
    hooks or parametrizations on the module, or coordinates that need a gradient."""
    batched = params is not None
    if batched:
        field.check_batched(params, coords)  # type: ignore[arg-type]
    else:
        field.check_coords(coords)
    layout = field.layout
    source = params if batched else dict(field.named_parameters())
    weights = [source[layer.weight] for layer in layout]  # type: ignore[index]
    biases = [source[layer.bias] for layer in layout]  # type: ignore[index]
    plain = (
        resolve_backend(field.backend, coords) == "eager"
        and not (field._forward_hooks or field._forward_pre_hooks or coords.requires_grad)
        and not any(parametrize.is_parametrized(m) for m in field.layers)
        and all(t.is_leaf and t.dtype == coords.dtype for t in [*weights, *biases])
        and coords.dim() == (3 if batched else 2)
        and targets.shape == (*coords.shape[:-1], field.out_features)
        and targets.dtype == coords.dtype
    )
    if not plain:
        return None
    omegas = [layer.omega_0 if layer.sine else None for layer in layout]
    return sine_mlp_mse_grad(coords, targets, weights, biases, omegas, denominator)


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
    is over all ``N * C`` values), through :func:`accumulate_mse_grad` (hand-written for a
    :class:`~neuralfields.Siren` on the CPU). Zero the gradients before and step the optimiser
    after, as with ``loss.backward()``.

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
        total += accumulate_mse_grad(field, coords[s : s + chunk_size], targets[s : s + chunk_size], denominator)
    return float(total) / denominator
