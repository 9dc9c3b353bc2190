"""The figures of :func:`neuralfields.experiments.generate`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._history import History
from ..analysis import running_mean
from ..generators import FieldGenerator

__all__ = ["write_figures", "slerp"]


def slerp(a: Tensor, b: Tensor, alphas: Tensor) -> Tensor:
    """Spherical interpolation between noise vectors ``a`` and ``b`` ``(D,)`` at ``alphas`` ``(K,)``: ``(K, D)``.

    Gaussian noise lives near a sphere, so the path keeps the noise's norm where a straight line would
    pass through unlikely short vectors.

    Example:
        >>> path = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5, 1.0]))
        >>> [round(float(v), 3) for v in path.norm(dim=1)]
        [1.0, 1.0, 1.0]
    """
    cos = torch.dot(a, b) / (a.norm() * b.norm())
    omega = torch.arccos(cos.clamp(-1.0 + 1e-7, 1.0 - 1e-7))
    if float(omega) < 1e-4:
        return (1 - alphas)[:, None] * a + alphas[:, None] * b
    sin = torch.sin(omega)
    return (torch.sin((1 - alphas) * omega) / sin)[:, None] * a + (torch.sin(alphas * omega) / sin)[:, None] * b


def _label(name: str, row: Mapping[str, Any]) -> str:
    return f"{name}\nFD {row['frechet']:.1f}, cover {row['coverage']:.0%}"


def write_figures(
    out: Path, generator: FieldGenerator, history: History, shown: Mapping[str, Tensor], big: Mapping[str, Tensor],
    table: Mapping[str, Mapping[str, Any]], size: tuple[int, int], seed: int,
) -> None:  # fmt: skip
    """``samples.png``, ``samples_4x.png``, ``interpolation.png`` and ``curves.png`` of a generate report."""
    from ..plots import plot_curves, plot_image_grid

    h, w = size
    plot_image_grid([list(x) for x in shown.values()], out / "samples.png", row_labels=[_label(k, table[k]) for k in shown],
                    title=f"samples at the training size {h}x{w} (FD: Fréchet distance, cover: classes covered)")  # fmt: skip
    plot_image_grid([list(x) for x in big.values()], out / "samples_4x.png", row_labels=list(big),
                    title=f"the same fields rendered at {4 * h}x{4 * w}")  # fmt: skip
    alphas = torch.linspace(0.0, 1.0, 8)
    noise = generator.noise(8, seed=seed + 11)
    with torch.no_grad():
        rows = [list(generator.generate(slerp(noise[2 * r], noise[2 * r + 1], alphas).to(noise), (2 * h, 2 * w))) for r in range(4)]
    plot_image_grid(rows, out / "interpolation.png", col_labels=[f"t = {float(a):.2f}" for a in alphas],
                    title=f"adversarial generator: spherical paths between noise vectors, at {2 * h}x{2 * w}")  # fmt: skip
    steps = history.step
    window = max(1, len(steps) // 50)
    curves = {
        f"generator loss (mean of {window})": (steps, running_mean(history.loss, window)),
        f"discriminator loss (mean of {window})": (steps, running_mean(history.metrics["d_loss"], window)),
    }
    plot_curves(curves, out / "curves.png", xlabel="step", ylabel="loss", title="adversarial training")
    frechet = history.val_metrics.get("frechet", [])
    if frechet:
        lines = {k: float(v["frechet"]) for k, v in table.items() if k != "adversarial" and math.isfinite(v["frechet"])}
        plot_curves({"adversarial (EMA generator)": (history.val_step, frechet)}, out / "frechet.png", xlabel="step",
                    ylabel="Fréchet distance (log scale)", hlines=lines, logy=True,
                    title="Fréchet distance to the training images during adversarial training")  # fmt: skip
