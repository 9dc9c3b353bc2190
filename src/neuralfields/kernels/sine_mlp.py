"""A whole-SIREN fused training step: the forward pass, the squared error and the backward pass by hand.

:func:`sine_mlp_mse_grad` evaluates a stack of (sine) layers on a batch of points, computes the sum of
squared errors against targets and **adds** the gradient of ``sum((f(x) - y)^2) / denominator`` to the
parameters' ``.grad`` tensors, without autograd. Written out by hand, one training step of a SIREN
makes fewer passes over its ``(N, width)`` activations than autograd's composite does:

- ``omega_0`` is folded into every matrix product (``addmm``'s ``alpha`` / ``beta``) instead of being
  applied by separate elementwise multiplications, forward and backward;
- the backward turns the saved pre-activation into ``cos`` in place and multiplies the incoming
  gradient by it in place (autograd allocates both);
- weight and bias gradients are accumulated straight into ``.grad`` (``addmm_``), with no temporaries.

Callers split large batches into chunks (:func:`neuralfields.training.mse_backward` does) so that the
activations of one chunk stay small and in cache: the sum over chunks is the full-batch gradient.
Float32 and float64, on any device (the matrix products are ATen's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
from torch import Tensor

__all__ = ["sine_mlp_mse_grad"]


_SMALL_INNER = 4
"""Matrix products ``(N, k) @ (k, m)`` with ``k`` at most this are sums of outer products (a BLAS GEMM
is slow at such a small inner dimension, e.g. the gradient through a SIREN's 1- or 3-channel output)."""


def _t(a: Tensor) -> Tensor:
    """Transpose of a matrix or of each matrix of a batch."""
    return a.transpose(-1, -2)


def _mm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for matrices or batches of matrices (``mm`` / ``bmm``, not broadcasting ``matmul``)."""
    if a.shape[-1] <= _SMALL_INNER:  # a sum of outer products
        out = a[..., 0:1] * b[..., 0:1, :]
        for k in range(1, a.shape[-1]):
            out.addcmul_(a[..., k : k + 1], b[..., k : k + 1, :])
        return out
    return torch.bmm(a, b) if a.dim() == 3 else torch.mm(a, b)


def _affine(h: Tensor, w: Tensor, b: Optional[Tensor], scale: float) -> Tensor:
    """``scale * (h W^T + b)`` in one product (``addmm`` / ``baddbmm``)."""
    if b is None:
        return _mm(h, _t(w) * scale if scale != 1.0 else _t(w))
    if h.dim() == 3:
        return torch.baddbmm(b.unsqueeze(1), h, _t(w), beta=scale, alpha=scale)
    return torch.addmm(b, h, _t(w), beta=scale, alpha=scale)


def _accumulate(param: Tensor, value: Tensor) -> None:
    """``param.grad += value`` (``value`` is a fresh tensor that may become the gradient)."""
    if param.grad is None:
        param.grad = value
    else:
        param.grad.add_(value)


@torch.no_grad()
def sine_mlp_mse_grad(
    x: Tensor,
    targets: Tensor,
    weights: Sequence[Tensor],
    biases: Sequence[Optional[Tensor]],
    omegas: Sequence[Optional[float]],
    denominator: float,
) -> Tensor:
    """Sum of squared errors of a sine MLP on ``x``; adds its scaled gradient to the parameters' ``.grad``.

    Layer ``i`` computes ``sin(omegas[i] * (h W_i^T + b_i))``, or the linear map ``h W_i^T + b_i`` when
    ``omegas[i]`` is ``None`` (a SIREN's output layer). After the call every weight and bias ``p`` has
    ``p.grad += d/dp [sum((f(x) - targets)^2) / denominator]`` (created when it was ``None``), exactly
    what ``(((f(x) - targets) ** 2).sum() / denominator).backward()`` accumulates, up to rounding.

    With a leading batch dimension ``B`` (``x (B, N, in)``, weights ``(B, out_i, in_i)``, biases
    ``(B, out_i)``, targets ``(B, N, out)``) the ``B`` networks are independent, and the sum of squared
    errors is returned per item.

    Args:
        x: points ``(N, in_features)`` or ``(B, N, in_features)`` (they get no gradient).
        targets: ``(N, out_features)`` or ``(B, N, out_features)``, same dtype and device.
        weights: per layer ``(out_i, in_i)`` or ``(B, out_i, in_i)``, leaf tensors.
        biases: per layer ``(out_i,)`` / ``(B, out_i)``, or ``None``.
        omegas: per layer the frequency factor, or ``None`` for a linear layer.
        denominator: the loss's normaliser (e.g. the number of values of the full batch).

    Returns:
        The sum of squared errors: a 0-dim tensor, or ``(B,)`` when batched (not divided by
        ``denominator``).

    Example:
        >>> w = [torch.randn(8, 2, requires_grad=True), torch.randn(1, 8, requires_grad=True)]
        >>> b = [torch.zeros(8, requires_grad=True), torch.zeros(1, requires_grad=True)]
        >>> x, y = torch.rand(16, 2), torch.rand(16, 1)
        >>> sse = sine_mlp_mse_grad(x, y, w, b, [30.0, None], denominator=16)
        >>> ref = ((torch.sin(30.0 * (x @ w[0].t() + b[0])) @ w[1].t() + b[1] - y) ** 2).sum()
        >>> bool(torch.allclose(sse, ref)), tuple(w[0].grad.shape)
        (True, (8, 2))
    """
    # forward: keep each layer's input h_i (for dW_i) and each sine layer's pre-activation z_i (for cos)
    inputs: list[Optional[Tensor]] = []
    pre: list[Optional[Tensor]] = []
    h = x
    for w, b, omega in zip(weights, biases, omegas):
        inputs.append(h)
        z = _affine(h, w, b, 1.0 if omega is None else omega)
        pre.append(None if omega is None else z)
        h = z if omega is None else torch.sin(z)
    diff = h.sub_(targets)  # h is ours (the last layer's fresh output)
    sse = (diff * diff).flatten(1).sum(1) if x.dim() == 3 else torch.linalg.vecdot(diff.flatten(), diff.flatten())
    # backward: g = d loss / d (layer output), walked from the last layer down
    g = diff.mul_(2.0 / denominator)
    for i in range(len(weights) - 1, -1, -1):
        w, b, omega, h_in, z = weights[i], biases[i], omegas[i], inputs[i], pre[i]
        assert h_in is not None
        scale = 1.0
        if z is not None:  # sine layer: d/d(h W^T + b) = g * omega * cos(z)
            g = g.mul_(z.cos_())
            scale = omega
        pre[i] = inputs[i] = None  # release what the backward no longer needs
        if w.requires_grad:
            if w.shape[-1] < w.shape[-2]:  # few inputs (the coordinates): (h^T g)^T is the faster product
                _accumulate(w, _t(_mm(_t(h_in), g)).contiguous().mul_(scale))
            elif w.grad is None:
                _accumulate(w, _mm(_t(g), h_in).mul_(scale))
            elif w.dim() == 3:
                w.grad.baddbmm_(_t(g), h_in, alpha=scale)
            else:
                w.grad.addmm_(_t(g), h_in, alpha=scale)
        if b is not None and b.requires_grad:
            _accumulate(b, g.sum(-2).mul_(scale))
        if i > 0:  # the input's gradient (the first layer's input is x: none needed)
            g = _mm(g, w * scale if scale != 1.0 else w)  # the scale goes on the small matrix
    return sse
