"""Pictures: training curves and image comparisons, written as PNG files.

Uses matplotlib (``pip install 'neuralfields[viz]'``) through its object API, so no global pyplot
state is touched and no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor

from .data import to_uint8
from .errors import OptionalDependencyError
from .training.history import History

__all__ = ["plot_history", "plot_comparison", "plot_image_grid"]


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise OptionalDependencyError("matplotlib", "viz", "drawing plots") from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    import io as _io

    from .io import _atomic_write

    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    return _atomic_write(path, buf.getvalue())


def plot_history(history: History, path: str | os.PathLike[str], title: str = "") -> Path:
    """Training curves: PSNR (train and held-out) and loss against the step, in one PNG.

    Returns:
        The path written.
    """
    fig = _figure(10, 4)
    ax_psnr, ax_loss = fig.subplots(1, 2)
    ax_psnr.plot(history.step, history.psnr, label="train (batch)", lw=1)
    if history.val_step:
        ax_psnr.plot(history.val_step, history.val_psnr, "o-", ms=3, label="held-out")
    ax_psnr.set_xlabel("step")
    ax_psnr.set_ylabel("PSNR (dB)")
    ax_psnr.grid(alpha=0.3)
    ax_psnr.legend()
    ax_loss.semilogy(history.step, history.loss, lw=1)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss (MSE on [-1, 1])")
    ax_loss.grid(alpha=0.3, which="both")
    secs = history.elapsed
    fig.suptitle(f"{title + ': ' if title else ''}{len(history)} steps in {secs:.1f} s")
    return _save(fig, path)


def plot_comparison(
    images: Sequence[Tensor], titles: Sequence[str], path: str | os.PathLike[str], error_of: tuple[int, int] | None = None
) -> Path:
    """Images ``(C, H, W)`` in [0, 1] side by side, optionally with the absolute error of two of them.

    Args:
        images: the images to show.
        titles: one title per image.
        path: PNG to write.
        error_of: indices ``(i, j)``: add a panel with ``|images[i] - images[j]|`` (mean over channels),
            when the two have the same shape.
    """
    panels = len(images) + (1 if error_of else 0)
    fig = _figure(3.2 * panels, 3.6)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, img, title in zip(axes, images, titles):
        arr = to_uint8(img)
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(f"{title}\n{img.shape[-2]}x{img.shape[-1]}", fontsize=9)
        ax.axis("off")
    if error_of:
        a, b = images[error_of[0]], images[error_of[1]]
        ax = axes[-1]
        if a.shape == b.shape:
            err = (a - b).abs().mean(0).detach().cpu().numpy()
            im = ax.imshow(err, cmap="magma", vmin=0, vmax=max(float(err.max()), 1e-6), interpolation="nearest")
            fig.colorbar(im, ax=ax, shrink=0.8)
            ax.set_title("|error|", fontsize=9)
        ax.axis("off")
    return _save(fig, path)


def plot_image_grid(
    rows: Sequence[Sequence[Tensor]],
    path: str | os.PathLike[str],
    *,
    row_labels: Sequence[str] = (),
    col_labels: Sequence[str] = (),
    title: str = "",
    cell: float = 1.3,
) -> Path:
    """A grid of images ``(C, H, W)`` in [0, 1] (rows of equal length), with optional labels."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig = _figure(cell * n_cols + (1.0 if row_labels else 0.2), cell * n_rows + (0.6 if title or col_labels else 0.2))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(row):
                arr = to_uint8(row[c])
                ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=8)
            if r == 0 and c < len(col_labels):
                ax.set_title(col_labels[c], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
