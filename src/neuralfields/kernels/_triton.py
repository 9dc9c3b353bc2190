"""Triton CUDA path of the fused sine layer.

This module imports without Triton or CUDA: :data:`TRITON_AVAILABLE` says whether the kernels and the
``torch.ops.neuralfields.sine_layer_triton`` operator exist. :func:`neuralfields.kernels.sine_layer`
uses them for float32 CUDA inputs when they do, and the composite operator otherwise.

One Triton kernel, ``_sine_gemm_kernel``, computes batched matrix products ``a[b] @ b[b]`` with an
epilogue chosen at compile time:

- ``EPILOGUE=1`` (forward): ``sin(omega * (acc + bias))``;
- ``EPILOGUE=2`` (backward, recomputing the pre-activation):
  ``grad * omega * cos(omega * (acc + bias))``;
- ``EPILOGUE=0``: the plain product (``dx = g W`` and ``dW = g^T x``; the latter splits the long
  reduction over points across programs and sums the partial products).

The operators are ``torch.library.triton_op`` s that launch the kernel through
``torch.library.wrap_triton``, so ``torch.compile`` traces into them (and can autotune / fuse around
them); the autograd formula is registered on the forward operator and saves only ``x``, ``weight``
and ``bias``.

Precision (``precision`` argument, float32 inputs; accumulation is always float32). The error of the
output is about the relative error of the pre-activation times ``|omega_0 z|``; with SIREN
initialisation ``|omega_0 z|`` is of order one in hidden layers and up to about ``omega_0`` in the
first layer (whose product is tiny: keep it at ``"float32"``):

- ``"float32"`` (default): ``tl.dot(..., input_precision="ieee")``, no TF32 (FMA units); agrees with
  a float32 reference to about ``1e-5`` absolute in the output.
- ``"tf32x3"`` (NVIDIA): three TF32 tensor-core products per tile (the 3xTF32 trick); close to float32
  accuracy (about ``1e-5``) at tensor-core speed.
- ``"tf32"``: TF32 tensor cores (10-bit mantissa inputs): about ``1e-3`` relative error in the
  pre-activation, so about ``1e-3`` absolute in hidden-layer outputs (``1e-2`` in a first layer).
- ``"bf16"``: inputs rounded to bfloat16 (8-bit mantissa) per tile: about ``1e-2`` absolute in
  hidden-layer outputs (``1e-1`` in a first layer). For training where speed matters more than the
  last digits; not for gradient checks.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor

from ..errors import NeuralFieldsError

__all__ = ["TRITON_AVAILABLE", "sine_layer_triton"]

try:
    import triton
    import triton.language as tl
except Exception:  # noqa: BLE001 - no Triton (CPU-only machines) or a broken install: use the fallback
    triton = None
    tl = None

# triton_op / wrap_triton appeared in torch 2.6.
TRITON_AVAILABLE: bool = triton is not None and hasattr(torch.library, "triton_op")
"""Whether Triton is importable (the CUDA kernels exist); the CUDA path also needs CUDA tensors."""

_PRECISION_CODES = {"float32": 0, "tf32": 1, "bf16": 2, "tf32x3": 3}
_AUTOTUNE_KEY = ["M", "N", "K", "K_CHUNK", "HAS_BIAS", "EPILOGUE", "PRECISION"]


def _configs() -> list[Any]:
    def cfg(bm: int, bn: int, bk: int, warps: int, stages: int) -> Any:
        return triton.Config(
            {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8}, num_warps=warps, num_stages=stages
        )

    return [
        cfg(128, 128, 32, 8, 3),
        cfg(128, 256, 32, 8, 3),
        cfg(128, 64, 32, 4, 4),
        cfg(64, 128, 32, 4, 4),
        cfg(64, 64, 32, 4, 4),
        cfg(64, 32, 32, 4, 5),
        cfg(32, 64, 32, 4, 5),
    ]


def _autotuned_jit(fn: Callable[..., Any]) -> Any:
    """``triton.autotune(triton.jit(fn))`` when Triton is available; ``fn`` itself otherwise."""
    if not TRITON_AVAILABLE:
        return fn
    return triton.autotune(configs=_configs(), key=_AUTOTUNE_KEY)(triton.jit(fn))


@_autotuned_jit
def _sine_gemm_kernel(
    a_ptr,
    b_ptr,
    c_ptr,
    bias_ptr,
    grad_ptr,
    M,
    N,
    K,
    K_CHUNK,
    stride_ab,
    stride_am,
    stride_ak,
    stride_bb,
    stride_bk,
    stride_bn,
    stride_cs,
    stride_cb,
    stride_cm,
    stride_cn,
    stride_biasb,
    stride_biasn,
    stride_gb,
    stride_gm,
    stride_gn,
    omega,
    HAS_BIAS: tl.constexpr,
    EPILOGUE: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
):
    """``c[s, b] = epilogue(a[b, :, chunk s] @ b[b, chunk s, :])``; grid ``(tiles, B, splits)``."""
    pid = tl.program_id(0)
    pid_b = tl.program_id(1).to(tl.int64)
    pid_s = tl.program_id(2).to(tl.int64)
    # Grouped ordering of the output tiles, for L2 reuse.
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = tl.minimum(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    mask_m = offs_m < M
    mask_n = offs_n < N
    # This program's slice of the reduction: [k_start, k_start + k_len).
    k_start = pid_s * K_CHUNK
    k_len = tl.minimum(K - k_start, K_CHUNK).to(tl.int32)
    a_ptrs = (
        a_ptr
        + pid_b * stride_ab
        + k_start * stride_ak
        + (offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak)
    )
    b_ptrs = (
        b_ptr
        + pid_b * stride_bb
        + k_start * stride_bk
        + (offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn)
    )
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(k_len, BLOCK_K)):
        k_mask = offs_k < k_len - k * BLOCK_K
        a = tl.load(a_ptrs, mask=mask_m[:, None] & k_mask[None, :], other=0.0)
        b = tl.load(b_ptrs, mask=k_mask[:, None] & mask_n[None, :], other=0.0)
        if PRECISION == 2:
            acc = tl.dot(a.to(tl.bfloat16), b.to(tl.bfloat16), acc)
        elif PRECISION == 1:
            acc = tl.dot(a, b, acc, input_precision="tf32")
        elif PRECISION == 3:
            acc = tl.dot(a, b, acc, input_precision="tf32x3")
        else:
            acc = tl.dot(a, b, acc, input_precision="ieee")
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    if HAS_BIAS:
        bias = tl.load(bias_ptr + pid_b * stride_biasb + offs_n * stride_biasn, mask=mask_n, other=0.0)
        acc = acc + bias.to(tl.float32)[None, :]
    c_mask = mask_m[:, None] & mask_n[None, :]
    if EPILOGUE == 1:
        acc = tl.sin(acc * omega)
    elif EPILOGUE == 2:
        g_ptrs = grad_ptr + pid_b * stride_gb + (offs_m[:, None] * stride_gm + offs_n[None, :] * stride_gn)
        g = tl.load(g_ptrs, mask=c_mask, other=0.0).to(tl.float32)
        acc = g * (tl.cos(acc * omega) * omega)
    c_ptrs = (
        c_ptr
        + pid_s * stride_cs
        + pid_b * stride_cb
        + (offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn)
    )
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=c_mask)


def _launch_gemm(
    a: Tensor,
    b: Tensor,
    out: Tensor,
    *,
    bias: Optional[Tensor] = None,
    grad: Optional[Tensor] = None,
    omega: float = 1.0,
    epilogue: int = 0,
    precision: str = "float32",
    splits: int = 1,
    k_chunk: Optional[int] = None,
) -> None:
    """Launch :func:`_sine_gemm_kernel`: ``out`` is ``(B, M, N)``, or ``(splits, B, M, N)`` partials."""
    batch, m, k = a.shape
    n = b.shape[2]
    stride_cs = out.stride(0) if out.dim() == 4 else 0
    bias_t = a if bias is None else bias  # a dummy pointer when HAS_BIAS is False (never read)
    grad_t = a if grad is None else grad
    stride_biasb, stride_biasn = (0, 0) if bias is None else (bias.stride(0), bias.stride(1))
    stride_gb, stride_gm, stride_gn = (0, 0, 0) if grad is None else grad.stride()

    def grid(meta: dict[str, Any]) -> tuple[int, int, int]:
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]), batch, splits)

    wrap_triton(_sine_gemm_kernel)[grid](
        a,
        b,
        out,
        bias_t,
        grad_t,
        m,
        n,
        k,
        k if k_chunk is None else k_chunk,
        a.stride(0),
        a.stride(1),
        a.stride(2),
        b.stride(0),
        b.stride(1),
        b.stride(2),
        stride_cs,
        out.stride(-3),
        out.stride(-2),
        out.stride(-1),
        stride_biasb,
        stride_biasn,
        stride_gb,
        stride_gm,
        stride_gn,
        omega,
        HAS_BIAS=bias is not None,
        EPILOGUE=epilogue,
        PRECISION=_PRECISION_CODES[precision],
    )


def _split_k(batch: int, m: int, n: int, k: int) -> tuple[int, int]:
    """``(splits, k_chunk)`` for a product with a long reduction and few output tiles (``dW = g^T x``)."""
    tiles = batch * (-(-m // 128)) * (-(-n // 128))
    if k < 4096 or tiles >= 128:
        return 1, k
    splits = max(1, min(64, 256 // tiles, k // 1024))
    k_chunk = (-(-k // splits) + 63) // 64 * 64
    return -(-k // k_chunk), k_chunk


def _sine_layer_triton_impl(
    x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float, precision: str
) -> Tensor:
    """``sin(omega_0 * (x W^T + b))`` for ``x (B, N, in)``, ``weight (B, out, in)``, ``bias (B, out)``."""
    out = x.new_empty((x.shape[0], x.shape[1], weight.shape[1]))
    if out.numel() == 0:
        return out
    _launch_gemm(x, weight.transpose(1, 2), out, bias=bias, omega=omega_0, epilogue=1, precision=precision)
    return out


def _sine_layer_triton_grad_impl(
    grad: Tensor, x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float, precision: str
) -> Tensor:
    """``grad * omega_0 * cos(omega_0 * (x W^T + b))`` (float32), recomputing the matrix product."""
    g = torch.empty((x.shape[0], x.shape[1], weight.shape[1]), dtype=torch.float32, device=x.device)
    if g.numel() == 0:
        return g
    _launch_gemm(
        x, weight.transpose(1, 2), g, bias=bias, grad=grad, omega=omega_0, epilogue=2, precision=precision
    )
    return g


def _bmm_triton_impl(a: Tensor, b: Tensor, precision: str) -> Tensor:
    """``a @ b`` for ``a (B, M, K)``, ``b (B, K, N)`` with the chosen precision (split-K when K is long)."""
    batch, m, k = a.shape
    n = b.shape[2]
    if batch * m * n == 0:
        return a.new_zeros((batch, m, n))
    splits, k_chunk = _split_k(batch, m, n, k)
    if splits == 1:
        out = a.new_empty((batch, m, n))
        _launch_gemm(a, b, out, precision=precision)
        return out
    partial = a.new_empty((splits, batch, m, n))
    _launch_gemm(a, b, partial, precision=precision, splits=splits, k_chunk=k_chunk)
    return partial.sum(dim=0)


def _setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, weight, bias, omega_0, precision = inputs
    ctx.save_for_backward(x, weight, bias)  # inputs only: the pre-activation is recomputed
    ctx.omega_0 = omega_0
    ctx.precision = precision


def _backward(ctx, grad: Tensor):  # noqa: ANN001, ANN202
    x, weight, bias = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    need_b = bool(need_b and bias is not None)
    if not (need_x or need_w or need_b):
        return None, None, None, None, None
    ops = torch.ops.neuralfields
    g = ops.sine_layer_triton_grad(grad, x, weight, bias, ctx.omega_0, ctx.precision)
    dx = ops.bmm_triton(g, weight, ctx.precision) if need_x else None
    dw = ops.bmm_triton(g.transpose(1, 2), x, ctx.precision) if need_w else None
    db = g.sum(dim=1) if need_b else None
    return dx, dw, db, None, None


def _vmap(info, in_dims, x, weight, bias, omega_0, precision):  # noqa: ANN001, ANN202
    """torch.vmap rule: fold the vmapped dimension into the item batch."""
    n = info.batch_size

    def merged(t: Optional[Tensor], bdim: Optional[int]) -> Optional[Tensor]:
        if t is None:
            return None
        t = t.movedim(bdim, 0) if bdim is not None else t.expand(n, *t.shape)
        return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])

    xs, ws, bs = (merged(t, d) for t, d in zip((x, weight, bias), in_dims[:3]))
    y = torch.ops.neuralfields.sine_layer_triton(xs, ws, bs, omega_0, precision)
    return y.reshape(n, -1, *y.shape[1:]), 0


if TRITON_AVAILABLE:
    from torch.library import wrap_triton

    _sine_layer_triton_op = torch.library.triton_op("neuralfields::sine_layer_triton", mutates_args=())(
        _sine_layer_triton_impl
    )
    torch.library.triton_op("neuralfields::sine_layer_triton_grad", mutates_args=())(_sine_layer_triton_grad_impl)
    torch.library.triton_op("neuralfields::bmm_triton", mutates_args=())(_bmm_triton_impl)
    _sine_layer_triton_op.register_autograd(_backward, setup_context=_setup_context)
    _sine_layer_triton_op.register_vmap(_vmap)


def sine_layer_triton(
    x: Tensor, weight: Tensor, bias: Optional[Tensor], omega_0: float, precision: str = "float32"
) -> Tensor:
    """The Triton sine layer on validated float32 CUDA tensors ``x (B, N, in)``, ``weight (B, out, in)``.

    Call :func:`neuralfields.kernels.sine_layer` or :func:`neuralfields.kernels.sine_layer_batched`
    instead: they check their inputs and pick this path when it applies.
    """
    if not TRITON_AVAILABLE:  # pragma: no cover - callers check TRITON_AVAILABLE first
        raise NeuralFieldsError(
            "the Triton sine layer needs Triton (pip install triton) and torch>=2.6; "
            "neuralfields.kernels.sine_layer picks a path that works without it"
        )
    return torch.ops.neuralfields.sine_layer_triton(x, weight, bias, omega_0, precision)
