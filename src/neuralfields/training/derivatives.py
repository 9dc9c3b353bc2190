"""Derivatives of a field with respect to its coordinates (autograd), for gradient and Laplacian supervision."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import ShapeError

__all__ = ["coordinate_gradient", "laplacian", "image_gradient", "image_laplacian"]

FieldFn = Callable[[Tensor], Tensor]


def _check_coords(coords: Tensor) -> None:
    if coords.dim() != 2:
        raise ShapeError(f"coords must be (N, d), got {tuple(coords.shape)}")


def coordinate_gradient(field: FieldFn, coords: Tensor, *, create_graph: bool = True) -> tuple[Tensor, Tensor]:
    """The field's values and their gradient with respect to the coordinates.

    Args:
        field: a field (any callable ``(N, d) -> (N, C)`` built from differentiable operations).
        coords: ``(N, d)`` points.
        create_graph: keep the graph so that a loss on the gradient can be trained (default) or
            differentiated again (:func:`laplacian`).

    Returns:
        ``(values (N, C), gradient (N, C, d))``.

    Example:
        >>> import torch
        >>> values, grad = coordinate_gradient(lambda x: (x**2).sum(1, keepdim=True), torch.tensor([[1.0, 2.0]]))
        >>> grad.tolist()
        [[[2.0, 4.0]]]
    """
    _check_coords(coords)
    x = coords.detach().requires_grad_(True)
    with torch.enable_grad():
        values = field(x)
        grads = [torch.autograd.grad(values[:, c].sum(), x, create_graph=create_graph)[0] for c in range(values.shape[1])]
    return values, torch.stack(grads, dim=1)


def laplacian(field: FieldFn, coords: Tensor, *, create_graph: bool = True) -> tuple[Tensor, Tensor]:
    """The field's values and their Laplacian (the sum of the second derivatives) at ``coords``.

    Costs one backward pass per channel for the gradient and one per channel and dimension for the
    second derivatives.

    Returns:
        ``(values (N, C), laplacian (N, C))``.

    Example:
        >>> import torch
        >>> _, lap = laplacian(lambda x: (x**2).sum(1, keepdim=True), torch.zeros(3, 2))
        >>> lap.flatten().tolist()
        [4.0, 4.0, 4.0]
    """
    _check_coords(coords)
    x = coords.detach().requires_grad_(True)
    with torch.enable_grad():
        values = field(x)
        out = []
        for c in range(values.shape[1]):
            g = torch.autograd.grad(values[:, c].sum(), x, create_graph=True)[0]
            second = [torch.autograd.grad(g[:, i].sum(), x, create_graph=create_graph)[0][:, i] for i in range(x.shape[1])]
            out.append(torch.stack(second, 0).sum(0))
    return values, torch.stack(out, dim=1)


def _check_image(image: Tensor) -> None:
    if image.dim() != 3:
        raise ShapeError(f"image must be (C, H, W), got {tuple(image.shape)}")
    if min(image.shape[1:]) < 3:
        raise ShapeError(f"image must be at least 3x3 for finite differences, got {tuple(image.shape)}")


def image_gradient(image: Tensor) -> Tensor:
    """The gradient of an image on the fields' scale: values on [-1, 1], coordinates on [-1, 1].

    Central differences inside, one-sided at the border, in units of the coordinate grid (a pixel is
    ``2 / H`` high and ``2 / W`` wide), so the result is what :func:`coordinate_gradient` of a field that
    fits the image gives.

    Args:
        image: ``(C, H, W)`` in [0, 1].

    Returns:
        ``(H * W, C, 2)``, the derivatives along (y, x), in the row-major order of the coordinate grid.

    Example:
        >>> import torch
        >>> ramp = torch.linspace(0, 1, 5).repeat(5, 1)[None]  # rises from 0 to 1 across the width
        >>> image_gradient(ramp)[0].tolist()  # 2 * ramp - 1 rises 0.5 a pixel; a pixel is 0.4 wide
        [[0.0, 1.25]]
    """
    _check_image(image)
    c, h, w = image.shape
    values = image * 2.0 - 1.0
    dy, dx = torch.gradient(values, spacing=(2.0 / h, 2.0 / w), dim=(1, 2))
    return torch.stack([dy, dx], dim=-1).reshape(c, h * w, 2).transpose(0, 1)


def image_laplacian(image: Tensor) -> Tensor:
    """The Laplacian of an image on the fields' scale (see :func:`image_gradient`), by the five-point
    stencil with the border replicated.

    Returns:
        ``(H * W, C)``.

    Example:
        >>> import torch
        >>> image_laplacian(torch.full((1, 4, 4), 0.5)).abs().max().item()
        0.0
    """
    _check_image(image)
    c, h, w = image.shape
    v = torch.nn.functional.pad((image * 2.0 - 1.0)[None], (1, 1, 1, 1), mode="replicate")[0]
    d2y = (v[:, 2:, 1:-1] - 2 * v[:, 1:-1, 1:-1] + v[:, :-2, 1:-1]) / (2.0 / h) ** 2
    d2x = (v[:, 1:-1, 2:] - 2 * v[:, 1:-1, 1:-1] + v[:, 1:-1, :-2]) / (2.0 / w) ** 2
    return (d2y + d2x).reshape(c, h * w).T
