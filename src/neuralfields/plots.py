"""Pictures: training curves and image comparisons, written as PNG files.

Uses matplotlib (``pip install 'neuralfields[viz]'``) through its object API, so no global pyplot
state is touched and no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from torch import Tensor

from ._plots_base import _figure, _save
from ._plots_lam import plot_lam_sweep
from ._plots_signals import plot_mesh, plot_volume_slices, plot_waveform
from .data import to_uint8
from .training.history import History

__all__ = ["plot_history", "plot_comparison", "plot_image_grid", "plot_curves", "plot_latent_pairs", "plot_band_panels",
           "plot_box_groups", "plot_waveform", "plot_volume_slices", "plot_mesh", "plot_lam_sweep"]


PSNR_CAP = 100.0
"""PSNR curves are drawn up to this many dB: above it, the differences are float rounding, not fit."""


def _capped(values: list[float], cap: float) -> list[float]:
    return [min(v, cap) for v in values]


def plot_history(history: History, path: str | os.PathLike[str], title: str = "", psnr_cap: float = PSNR_CAP) -> Path:
    """Training curves: PSNR (train and held-out, capped at ``psnr_cap`` dB) and loss against the step, in one PNG.

    Returns:
        The path written.

    Example:
        >>> import os, tempfile, neuralfields as nf
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), nf.data.load_image("camera", size=8), steps=5, progress=False)
        >>> plot_history(res.history, os.path.join(tempfile.mkdtemp(), "curve.png")).read_bytes()[:4]
        b'\x89PNG'
    """
    fig = _figure(10, 4)
    ax_psnr, ax_loss = fig.subplots(1, 2)
    capped = any(v > psnr_cap for v in [*history.psnr, *history.val_psnr])
    ax_psnr.plot(history.step[: len(history.psnr)], _capped(history.psnr, psnr_cap), label="train (batch)", lw=1)
    if history.val_step:
        ax_psnr.plot(history.val_step, _capped(history.val_psnr, psnr_cap), "o-", ms=3, label="held-out")
    ax_psnr.set_xlabel("step")
    ax_psnr.set_ylabel(f"PSNR (dB, capped at {psnr_cap:g})" if capped else "PSNR (dB)")
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

    Example:
        >>> import os, tempfile, torch
        >>> a, b = torch.zeros(1, 8, 8), torch.ones(1, 8, 8) * 0.5
        >>> plot_comparison([a, b], ["a", "b"], os.path.join(tempfile.mkdtemp(), "c.png"), error_of=(0, 1)).suffix
        '.png'
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
    cell_labels: Sequence[Sequence[str]] = (),
) -> Path:
    """A grid of images ``(C, H, W)`` in [0, 1] (rows may be shorter than the longest), with optional labels:
    one per row, one per column (above the first row), or one above each cell (``cell_labels[r][c]``).

    Example:
        >>> import os, tempfile, torch
        >>> rows = [[torch.rand(1, 8, 8), torch.rand(3, 8, 8)], [torch.rand(1, 8, 8)]]
        >>> plot_image_grid(rows, os.path.join(tempfile.mkdtemp(), "g.png"), cell_labels=[["grey", "colour"], ["alone"]]).suffix
        '.png'
    """
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig = _figure(cell * n_cols + (1.0 if row_labels else 0.2), (cell + (0.3 if cell_labels else 0.0)) * n_rows + (0.6 if title or col_labels else 0.2))
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
            elif r < len(cell_labels) and c < len(cell_labels[r]):
                ax.set_title(cell_labels[r][c], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike[str],
    *,
    xlabel: str = "iteration",
    ylabel: str = "PSNR (dB)",
    title: str = "",
    hlines: Mapping[str, float] | None = None,
    logx: bool = False,
    logy: bool = False,
) -> Path:
    """Named curves ``name -> (x, y)`` on one axis, with optional labelled horizontal reference lines
    (``logx``: a linear then logarithmic x axis; ``logy``: a logarithmic y axis).

    Example:
        >>> import os, tempfile
        >>> curves = {"a": ([0, 1, 2], [10.0, 20.0, 25.0]), "b": ([0, 1, 2], [12.0, 18.0, 30.0])}
        >>> plot_curves(curves, os.path.join(tempfile.mkdtemp(), "k.png"), hlines={"input": 15.0}).suffix
        '.png'
    """
    fig = _figure(6.5, 4.2)
    ax = fig.subplots()
    for name, (x, y) in curves.items():
        ax.plot(list(x), list(y), lw=1.3, label=name)
    for i, (name, value) in enumerate((hlines or {}).items()):
        ax.axhline(value, ls="--", lw=1, color=f"C{(len(curves) + i) % 10}", label=name)
    if logx:
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(left=0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_latent_pairs(
    latents: Tensor,
    path: str | os.PathLike[str],
    *,
    labels: Tensor | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
    markers: Mapping[str, Tensor] | None = None,
    title: str = "",
) -> Path:
    """Scatter plots of pairs of latent coordinates ``(N, D)`` in [0, 1], coloured by class.

    Args:
        latents: the latents.
        labels: class per latent ``(N,)`` (integers), or ``None`` for one colour.
        pairs: coordinate pairs to draw (default: ``(0, 1), (2, 3), ...`` up to four panels).
        markers: name -> latent ``(D,)`` drawn as labelled black crosses (e.g. out-of-distribution probes).
        title: the figure's title.

    Example:
        >>> import os, tempfile, torch
        >>> z = torch.rand(50, 4, generator=torch.Generator().manual_seed(0))
        >>> plot_latent_pairs(z, os.path.join(tempfile.mkdtemp(), "z.png"), labels=torch.arange(50) % 3).suffix
        '.png'
    """
    z = latents.detach().cpu().float()
    d = z.shape[1]
    if pairs is None:
        pairs = [(i, i + 1) for i in range(0, d - 1, 2)][:4] or [(0, 0)]
    fig = _figure(3.6 * len(pairs) + 0.8, 3.8)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    lab = None if labels is None else labels.detach().cpu().long()
    for ax, (i, j) in zip(axes, pairs):
        if lab is None:
            ax.scatter(z[:, i], z[:, j], s=4, alpha=0.5)
        else:
            for k in sorted(set(lab.tolist())):
                sel = lab == k
                ax.scatter(z[sel, i], z[sel, j], s=4, alpha=0.6, label=str(k), color=f"C{k % 10}")
        for name, m in (markers or {}).items():
            mz = m.detach().cpu().float()
            ax.scatter([float(mz[i])], [float(mz[j])], marker="x", s=40, color="black")
            ax.annotate(name, (float(mz[i]), float(mz[j])), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        ax.set_xlabel(f"z[{i}]")
        ax.set_ylabel(f"z[{j}]")
        ax.grid(alpha=0.3)
    if lab is not None:
        axes[-1].legend(fontsize=6, markerscale=2, loc="center left", bbox_to_anchor=(1.0, 0.5), title="class")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_band_panels(
    panels: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]],
    path: str | os.PathLike[str],
    *,
    xlabel: str = "step",
    ylabel: str = "PSNR (dB)",
    cap: float = PSNR_CAP,
) -> Path:
    """One panel per title, each with named curves ``name -> (mean, std)`` drawn as a line and a band of
    one standard deviation (values above ``cap`` drawn at ``cap``).

    Example:
        >>> import os, tempfile
        >>> panels = {"2x32": {"paper": ([10.0, 20.0, 25.0], [1.0, 2.0, 1.0]), "prefit": ([15.0, 24.0, 28.0], [2.0, 1.0, 1.0])}}
        >>> plot_band_panels(panels, os.path.join(tempfile.mkdtemp(), "b.png")).suffix
        '.png'
    """
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig = _figure(3.4 * cols, 2.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (title, curves) in zip(axes.flat, panels.items()):
        for i, (name, (mean, std)) in enumerate(curves.items()):
            m = _capped([float(v) for v in mean], cap)
            lo = [min(a - b, cap) for a, b in zip(m, std)]
            hi = [min(a + b, cap) for a, b in zip(m, std)]
            ax.plot(range(len(m)), m, lw=1.2, color=f"C{i}", label=name)
            ax.fill_between(range(len(m)), lo, hi, color=f"C{i}", alpha=0.15, lw=0)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    return _save(fig, path)


def plot_box_groups(
    groups: Mapping[str, Mapping[str, Sequence[float]]], path: str | os.PathLike[str], *, ylabel: str = "", title: str = ""
) -> Path:
    """Box plots: one group per key of ``groups`` (in order, left to right), one coloured box per name
    inside each group.

    Example:
        >>> import os, tempfile
        >>> groups = {"2x32": {"paper": [1.0, 2.0, 1.5], "prefit": [3.0, 2.5, 4.0]}, "4x64": {"paper": [2.0, 2.2, 1.9]}}
        >>> plot_box_groups(groups, os.path.join(tempfile.mkdtemp(), "box.png"), ylabel="AUC").suffix
        '.png'
    """
    names = list(dict.fromkeys(n for g in groups.values() for n in g))
    fig = _figure(max(6.0, 0.22 * len(names) * len(groups) + 2), 4.2)
    ax = fig.subplots()
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        pos = [g + (i - (len(names) - 1) / 2) * width for g, key in enumerate(groups) if name in groups[key]]
        data = [list(groups[key][name]) for key in groups if name in groups[key]]
        parts = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True, manage_ticks=False,
                           medianprops={"color": "black"})
        for box in parts["boxes"]:
            box.set_facecolor(f"C{i}")
            box.set_alpha(0.6)
        ax.plot([], [], color=f"C{i}", lw=6, alpha=0.6, label=name)
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, ncol=min(3, len(names)))
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)
