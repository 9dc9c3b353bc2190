"""What a solve returns (:class:`Solution`), where it starts (:func:`initial_guess`) and how it is scored
(:func:`per_image_psnr`); the input checks of the solvers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .._checks import check_images as _check_images
from .._history import History
from .._metrics import psnr_per_item
from ..errors import ConfigError
from .operators import Operator

__all__ = ["Solution", "initial_guess", "per_image_psnr", "check_images"]


@dataclass
class Solution:
    """What a solve returns.

    Attributes:
        x: the restored images ``(B, C, H, W)`` clamped to [0, 1] (each image's kept iterate).
        stopped_at: per image, the iteration of the kept iterate ``(B,)``.
        stopped: per image, whether the stopping rule stopped it before the budget ``(B,)``.
        iterations: iterations run (updates made).
        rule: the stopping rule's name.
        history: the recorded curves (a :class:`~neuralfields.History`): per iteration ``k`` (recorded
            as step ``k + 1``) the mean objective of iterate ``k`` (``loss``), its data and prior terms
            (``metrics["data"]``, ``metrics["prior"]``) and each image's objective (``items["loss"]``);
            with a reference, the mean PSNR of the iterate at ``val_step`` (every ``record_every``
            iterations, 0 and the last).
        snapshots: iteration -> the (clamped) iterate at that iteration ``(B, C, H, W)``.
        psnr: per-image PSNR of ``x`` against the reference, if one was given.
        stopped_early: the solve ended before the budget (every image stopped, or a callback stopped it).
        lam: the prior's weight per image ``(B,)`` (float64; chosen per image with ``lam="auto"``).
        sweep: with ``lam="auto"``, the :class:`~neuralfields.inverse.LamSweep` that chose it; else ``None``.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.inverse import Denoise, solve
        >>> clean = nf.data.load_dataset("shapes", n=2, size=8)
        >>> y = Denoise().measure(clean, sigma=0.1, seed=0)
        >>> sol = solve(y, "denoise", "tv", sigma=0.1, steps=30, snapshots=[10], reference=clean, progress=False)
        >>> sol.x.shape, sol.iterations, sol.rule, sorted(sol.snapshots), len(sol.psnr)
        (torch.Size([2, 1, 8, 8]), 30, 'budget', [10], 2)
        >>> sol.stopped.tolist(), sol.stopped_at.tolist(), sol.stopped_early, sol.history.val_step
        ([False, False], [30, 30], False, [0, 10, 20, 30])
    """

    x: Tensor
    stopped_at: Tensor
    stopped: Tensor
    iterations: int
    rule: str
    history: History
    snapshots: dict[int, Tensor]
    psnr: list[float] | None = None
    stopped_early: bool = False
    lam: Tensor | None = None
    sweep: Any = None


def per_image_psnr(x: Tensor, ref: Tensor) -> Tensor:
    """PSNR in dB on the [0, 1] range of each image of a batch ``(B, ...) -> (B,)`` (``inf`` where an image
    equals its reference; :func:`neuralfields._metrics.psnr_per_item`).

    Example:
        >>> per_image_psnr(torch.full((2, 1, 4, 4), 0.1), torch.zeros(2, 1, 4, 4)).round()
        tensor([20., 20.], dtype=torch.float64)
    """
    return psnr_per_item(x, ref)


def check_images(x: Any, what: str) -> Tensor:
    """``x`` if it is a finite floating-point batch of images ``(B, C, H, W)`` (see
    :func:`neuralfields._checks.check_images`)."""
    return _check_images(x, what, finite=True)


@torch.no_grad()
def initial_guess(y: Tensor, operator: Operator, kind: str = "adjoint") -> Tensor:
    """A starting image ``(B, C, H, W)`` in [0, 1].

    ``"adjoint"``: ``A^T y`` divided by ``A^T A 1`` where that is non-zero, the image's mean measurement
    elsewhere (e.g. the hidden part of an inpainting mask). ``"flat"``: each image's mean value of the
    ``"adjoint"`` guess, everywhere (a start far from the noise, as the discrepancy principle needs).

    Example:
        >>> from neuralfields.inverse import Downsample
        >>> initial_guess(torch.full((1, 1, 2, 2), 0.5), Downsample(2)).shape
        torch.Size([1, 1, 4, 4])
    """
    if kind not in ("adjoint", "flat"):
        raise ConfigError(f"unknown initial guess {kind!r}; use 'adjoint' or 'flat'")
    num = operator.adjoint(y)
    den = operator.adjoint(operator(torch.ones_like(num)))
    nonzero = den.abs() > 1e-6
    fill = y.flatten(1).mean(1).reshape(-1, *([1] * (num.dim() - 1))).expand_as(num)
    x0 = torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)), fill).clamp(0.0, 1.0)
    if kind == "flat":
        x0 = x0.flatten(1).mean(1).reshape(-1, *([1] * (num.dim() - 1))).expand_as(num).clone()
    return x0
