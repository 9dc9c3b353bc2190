"""The fused sine layer ``sin(omega_0 * (x W^T + b))`` as a ``torch.library`` custom op.

Two public functions validate their inputs and call the operators:

- :func:`sine_layer`: one weight matrix shared by all points, ``x`` of shape ``(..., in)``;
- :func:`sine_layer_batched`: one network per item, ``x (B, N, in)``, ``weight (B, out, in)``.

The operators (``torch.ops.neuralfields.sine_layer`` and ``torch.ops.neuralfields.sine_layer_batched``)
are opaque to ``torch.compile``; it calls them without graph breaks. Their backward **recomputes** the
pre-activation instead of storing it: autograd keeps only the inputs ``x``, ``weight`` and ``bias``
alive, where the eager composite ``torch.sin(omega_0 * F.linear(x, W, b))`` also keeps the
``(N, out)`` pre-activation of every layer. The price is one extra matrix product per layer in the
backward pass.

On CUDA with Triton installed, float32 inputs go to the Triton kernels of
``neuralfields.kernels._triton`` (matrix product with bias, scale and sine fused into the epilogue),
whose ``precision`` option trades accuracy for speed. Everywhere else (CPU, float64, no Triton) the
operators run ``addmm``/``baddbmm`` into one buffer followed by an in-place ``sin_``.
"""

from __future__ import annotations

import difflib
import math
from typing import Optional

import torch
from torch import Tensor

from ..errors import ConfigError, DeviceError, DTypeError, ShapeError
from . import _triton

__all__ = ["PRECISIONS", "sine_layer", "sine_layer_batched"]

PRECISIONS: tuple[str, ...] = ("float32", "tf32x3", "tf32", "bf16")
"""Values of the ``precision`` argument (used by the Triton CUDA path only)."""


# ---- the computation (any device) ------------------------------------------------------------


def _scaled_preactivation(x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float) -> Tensor:
    """``omega_0 * (x W^T + b)`` written into one fresh buffer (the scale folded into the GEMM)."""
    if x.dim() == 2:
        if bias is None:
            return torch.mm(x, (weight * omega_0).t())
        return torch.addmm(bias, x, weight.t(), beta=omega_0, alpha=omega_0)
    if bias is None:
        return torch.bmm(x, (weight * omega_0).transpose(1, 2))
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2), beta=omega_0, alpha=omega_0)


def _forward_impl(x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float) -> Tensor:
    return _scaled_preactivation(x, weight, bias, omega_0).sin_()


def _forward_fake(x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float) -> Tensor:
    return x.new_empty((*x.shape[:-1], weight.shape[-2]))


@torch.library.custom_op("neuralfields::sine_layer", mutates_args=())
def _sine_layer_op(x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float) -> Tensor:
    """``sin(omega_0 * (x W^T + b))`` for ``x (N, in)``, ``weight (out, in)``, ``bias (out,)``."""
    return _forward_impl(x, weight, bias, omega_0)


@torch.library.custom_op("neuralfields::sine_layer_batched", mutates_args=())
def _sine_layer_batched_op(x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float) -> Tensor:
    """``sin(omega_0 * (x W^T + b))`` per item: ``x (B, N, in)``, ``weight (B, out, in)``, ``bias (B, out)``."""
    return _forward_impl(x, weight, bias, omega_0)


@torch.library.custom_op("neuralfields::sine_layer_backward", mutates_args=())
def _sine_layer_backward_op(
    grad: Tensor,
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    omega_0: float,
    output_mask: list[bool],
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dweight, dbias)`` of both sine-layer ops, recomputing the pre-activation.

    ``g = grad * omega_0 * cos(omega_0 * (x W^T + b))``; ``dx = g W``, ``dW = g^T x``,
    ``db = g.sum(-2)``. Gradients not asked for by ``output_mask`` are returned as empty tensors.
    """
    need_x, need_w, need_b = output_mask
    # g holds grad * cos(omega_0 z); the factor omega_0 goes on the (small) weight or results.
    g = _scaled_preactivation(x, weight, bias, omega_0).cos_().mul_(grad)
    batched = x.dim() == 3
    dx = x.new_empty(0)
    dw = x.new_empty(0)
    db = x.new_empty(0)
    if need_x:
        dx = torch.bmm(g, weight * omega_0) if batched else torch.mm(g, weight * omega_0)
    if need_w:
        dw = (torch.bmm(g.transpose(1, 2), x) if batched else torch.mm(g.t(), x)).mul_(omega_0)
    if need_b and bias is not None:
        db = g.sum(dim=-2).mul_(omega_0)
    return dx, dw, db


@_sine_layer_backward_op.register_fake
def _sine_layer_backward_fake(
    grad: Tensor,
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    omega_0: float,
    output_mask: list[bool],
) -> tuple[Tensor, Tensor, Tensor]:
    need_x, need_w, need_b = output_mask
    dx = x.new_empty(x.shape) if need_x else x.new_empty(0)
    dw = x.new_empty(weight.shape) if need_w else x.new_empty(0)
    db = x.new_empty(bias.shape) if need_b and bias is not None else x.new_empty(0)
    return dx, dw, db


def _setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, weight, bias, omega_0 = inputs
    # Only the inputs: the pre-activation and the output are recomputed / not needed.
    ctx.save_for_backward(x, weight, bias)
    ctx.omega_0 = omega_0


def _backward(ctx, grad: Tensor):  # noqa: ANN001, ANN202
    x, weight, bias = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    need_b = bool(need_b and bias is not None)
    if not (need_x or need_w or need_b):
        return None, None, None, None
    dx, dw, db = torch.ops.neuralfields.sine_layer_backward(
        grad, x, weight, bias, ctx.omega_0, [bool(need_x), bool(need_w), need_b]
    )
    return (dx if need_x else None), (dw if need_w else None), (db if need_b else None), None


for _op in (_sine_layer_op, _sine_layer_batched_op):
    _op.register_fake(_forward_fake)
    _op.register_autograd(_backward, setup_context=_setup_context)
del _op


# ---- torch.vmap (e.g. torch.func.functional_call over stacked parameter sets) ------------------
# Forward rules; autograd through a vmapped forward works. torch.func.grad / vjp / jacrev of these ops
# do not: custom ops registered with register_autograd do not support functorch transforms yet
# (pytorch/pytorch#168393).


def _front(t: Optional[Tensor], bdim: Optional[int], size: int) -> Optional[Tensor]:
    """``t`` with its vmapped dimension first (expanded when it has none)."""
    if t is None:
        return None
    return t.movedim(bdim, 0) if bdim is not None else t.expand(size, *t.shape)


def _merge(t: Optional[Tensor]) -> Optional[Tensor]:
    """Merge the first two dimensions (vmap level and item batch)."""
    return None if t is None else t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])


@_sine_layer_op.register_vmap
def _sine_layer_vmap(info, in_dims, x, weight, bias, omega_0):  # noqa: ANN001, ANN202
    x_dim, w_dim, b_dim, _ = in_dims
    if w_dim is None and b_dim is None:  # shared parameters: one larger matrix product
        xs = x.movedim(x_dim, 0)
        y = torch.ops.neuralfields.sine_layer(xs.reshape(-1, xs.shape[-1]), weight, bias, omega_0)
        return y.reshape(*xs.shape[:-1], weight.shape[0]), 0
    n = info.batch_size
    args = (_front(x, x_dim, n), _front(weight, w_dim, n), _front(bias, b_dim, n))
    return torch.ops.neuralfields.sine_layer_batched(*args, omega_0), 0


@_sine_layer_batched_op.register_vmap
def _sine_layer_batched_vmap(info, in_dims, x, weight, bias, omega_0):  # noqa: ANN001, ANN202
    n = info.batch_size
    xs, ws, bs = (_front(t, d, n) for t, d in zip((x, weight, bias), in_dims[:3]))
    y = torch.ops.neuralfields.sine_layer_batched(_merge(xs), _merge(ws), _merge(bs), omega_0)
    return y.reshape(n, -1, *y.shape[1:]), 0


# ---- the public functions ---------------------------------------------------------------------


def _check_tensor(name: str, t: object) -> None:
    if not isinstance(t, Tensor):
        raise DTypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise DTypeError(
            f"{name} must be a floating-point tensor (float32 or float64), got {t.dtype}; "
            f"convert it with {name}.float()"
        )


def _check_common(
    x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float, precision: str
) -> float:
    """Checks shared by both functions; returns ``omega_0`` as a float."""
    _check_tensor("x", x)
    _check_tensor("weight", weight)
    if bias is not None:
        _check_tensor("bias", bias)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if t.dtype != x.dtype:
            raise DTypeError(
                f"x has dtype {x.dtype} but {name} has dtype {t.dtype}; the sine layer computes in one "
                f"dtype: convert with {name}.to(x.dtype)"
            )
        if t.device != x.device:
            raise DeviceError(
                f"x is on {x.device} but {name} is on {t.device}; move both to one device, "
                f"e.g. {name}.to(x.device)"
            )
    if isinstance(omega_0, bool) or not isinstance(omega_0, (int, float)) or not math.isfinite(omega_0):
        raise ConfigError(f"omega_0 must be a finite Python float, got {omega_0!r}")
    if precision not in PRECISIONS:
        close = difflib.get_close_matches(str(precision), PRECISIONS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown precision {precision!r}.{hint} Available: {', '.join(map(repr, PRECISIONS))}.")
    return float(omega_0)


def _use_triton(x: Tensor) -> bool:
    return _triton.TRITON_AVAILABLE and x.is_cuda and x.dtype == torch.float32


def sine_layer(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    omega_0: float = 30.0,
    *,
    precision: str = "float32",
) -> Tensor:
    """The SIREN sine layer ``sin(omega_0 * (x W^T + b))`` as one fused op.

    Equal (to rounding) to ``torch.sin(omega_0 * F.linear(x, weight, bias))``, with less activation
    memory when training: the backward pass recomputes the pre-activation, so autograd stores only
    ``x``, ``weight`` and ``bias``. Works under ``torch.compile(fullgraph=True)`` and ``torch.vmap``
    (not under ``torch.func.grad``, a PyTorch limitation of custom ops).

    Args:
        x: inputs ``(..., in_features)`` (float32 or float64; any number of leading dimensions).
        weight: ``(out_features, in_features)``, same dtype and device as ``x``.
        bias: ``(out_features,)`` or ``None``.
        omega_0: the frequency factor (a Python number).
        precision: matrix-product precision of the Triton CUDA path (float32 inputs on CUDA):
            ``"float32"`` (default; IEEE float32, no TF32: about ``1e-5`` from a float32 composite),
            ``"tf32x3"`` (about as accurate, on tensor cores), ``"tf32"`` (about ``1e-3`` absolute
            error in hidden-layer outputs) or ``"bf16"`` (about ``1e-2``); errors grow with
            ``|omega_0 z|``, so a first layer is best left at ``"float32"``. Ignored elsewhere: the
            CPU path, and the fallback without Triton, compute in the dtype of ``x``.

    Returns:
        ``(..., out_features)``.

    Raises:
        DTypeError: a tensor is not floating point, or dtypes differ.
        ShapeError: shapes do not fit together.
        DeviceError: tensors on different devices.
        ConfigError: ``omega_0`` not a finite number, unknown ``precision``.

    Example:
        >>> x = torch.rand(5, 2)
        >>> w, b = torch.randn(4, 2), torch.randn(4)
        >>> y = sine_layer(x, w, b, omega_0=30.0)
        >>> y.shape
        torch.Size([5, 4])
        >>> bool(torch.allclose(y, torch.sin(30.0 * torch.nn.functional.linear(x, w, b)), atol=1e-5))
        True
    """
    omega = _check_common(x, weight, bias, omega_0, precision)
    if weight.dim() != 2:
        raise ShapeError(
            f"weight must be (out_features, in_features), got {tuple(weight.shape)}; "
            f"for one weight matrix per item use sine_layer_batched"
        )
    out_features, in_features = weight.shape
    if x.dim() == 0 or x.shape[-1] != in_features:
        raise ShapeError(
            f"x must be (..., in_features) with in_features={in_features} (weight {tuple(weight.shape)}), "
            f"got {tuple(x.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise ShapeError(f"bias must be (out_features,) = ({out_features},), got {tuple(bias.shape)}")
    x2 = x.unsqueeze(0) if x.dim() == 1 else x.flatten(0, -2)
    if _use_triton(x):
        y = _triton.sine_layer_triton(
            x2.unsqueeze(0), weight.unsqueeze(0), None if bias is None else bias.unsqueeze(0), omega, precision
        ).squeeze(0)
    else:
        y = torch.ops.neuralfields.sine_layer(x2, weight, bias, omega)
    return y.reshape(*x.shape[:-1], out_features)


def sine_layer_batched(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    omega_0: float = 30.0,
    *,
    precision: str = "float32",
) -> Tensor:
    """One sine layer per item: ``y[i] = sin(omega_0 * (x[i] W[i]^T + b[i]))`` with batched GEMMs.

    The batched form of :func:`sine_layer` (one network per image, as in ``Field.forward_batched``);
    same memory saving and precision options.

    Args:
        x: inputs ``(B, N, in_features)``.
        weight: ``(B, out_features, in_features)``.
        bias: ``(B, out_features)`` or ``None``.
        omega_0: the frequency factor (a Python number).
        precision: one of :data:`PRECISIONS`; see :func:`sine_layer`.

    Returns:
        ``(B, N, out_features)``.

    Raises:
        DTypeError: a tensor is not floating point, or dtypes differ.
        ShapeError: shapes do not fit together.
        DeviceError: tensors on different devices.
        ConfigError: ``omega_0`` not a finite number, unknown ``precision``.

    Example:
        >>> x, w, b = torch.rand(3, 10, 2), torch.randn(3, 8, 2), torch.randn(3, 8)
        >>> sine_layer_batched(x, w, b, omega_0=30.0).shape
        torch.Size([3, 10, 8])
    """
    omega = _check_common(x, weight, bias, omega_0, precision)
    if weight.dim() != 3:
        raise ShapeError(f"weight must be (B, out_features, in_features), got {tuple(weight.shape)}")
    batch, out_features, in_features = weight.shape
    if x.dim() != 3 or x.shape[0] != batch or x.shape[2] != in_features:
        raise ShapeError(
            f"x must be (B, N, in_features) = ({batch}, N, {in_features}) to match weight "
            f"{tuple(weight.shape)}, got {tuple(x.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (batch, out_features):
        raise ShapeError(
            f"bias must be (B, out_features) = ({batch}, {out_features}), got {tuple(bias.shape)}"
        )
    if _use_triton(x):
        return _triton.sine_layer_triton(x, weight, bias, omega, precision)
    return torch.ops.neuralfields.sine_layer_batched(x, weight, bias, omega)
