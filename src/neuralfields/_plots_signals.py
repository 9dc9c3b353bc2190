"""Plots of signals that are not images: audio waveforms, volume slices, meshes. Re-exported by
:mod:`neuralfields.plots`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from torch import Tensor

from ._plots_base import _figure, _save

__all__ = ["plot_waveform", "plot_volume_slices", "plot_mesh"]


def plot_waveform(target: Tensor, fitted: Tensor, path: str | os.PathLike[str], *, sample_rate: int | None = None,
                  zoom: int = 400, title: str = "") -> Path:  # fmt: skip
    """Audio ``(C, T)`` (first channel) against its fit: the whole signal, and the first ``zoom`` samples up close.

    Example:
        >>> import math, os, tempfile, torch
        >>> t = torch.arange(800) / 800
        >>> target = torch.sin(2 * math.pi * 5 * t)[None]
        >>> plot_waveform(target, target * 0.9, os.path.join(tempfile.mkdtemp(), "w.png"), sample_rate=800).suffix
        '.png'
    """
    t, f = target[0].detach().float().cpu(), fitted[0].detach().float().cpu()
    scale, unit = (1.0 / sample_rate, "seconds") if sample_rate else (1.0, "sample")
    fig = _figure(9.0, 4.6)
    top, bottom = fig.subplots(2, 1)
    x = [i * scale for i in range(t.numel())]
    for ax, stop in ((top, t.numel()), (bottom, min(zoom, t.numel()))):
        ax.plot(x[:stop], t[:stop].tolist(), lw=0.8, color="0.3", label="target")
        ax.plot(x[:stop], f[:stop].tolist(), lw=0.8, color="tab:red", alpha=0.8, label="field")
        ax.set_xlabel(unit)
    top.legend(loc="upper right", fontsize=8)
    bottom.set_title(f"first {min(zoom, t.numel())} samples", fontsize=9)
    if title:
        top.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_volume_slices(volumes: Sequence[Tensor], labels: Sequence[str], path: str | os.PathLike[str], *, title: str = "") -> Path:
    """The middle slices of volumes ``(C, D, H, W)`` (first channel) along each axis: one row per volume, on one
    shared colour scale (centred on zero for signed values).

    Example:
        >>> import os, tempfile, neuralfields as nf
        >>> sdf = (nf.grid.make_grid((8, 8, 8)).norm(dim=-1) - 0.5)[None]
        >>> plot_volume_slices([sdf, sdf * 0.9], ["target", "field"], os.path.join(tempfile.mkdtemp(), "s.png")).suffix
        '.png'
    """
    vols = [v[0].detach().float().cpu() for v in volumes]
    low, high = min(float(v.min()) for v in vols), max(float(v.max()) for v in vols)
    if low < 0 < high:  # signed values (a distance): white at zero
        low, high = -max(-low, high), max(-low, high)
    fig = _figure(7.6, 2.4 * len(vols) + 0.4)
    axes = fig.subplots(len(vols), 3, squeeze=False)
    for r, v in enumerate(vols):
        d, h, w = v.shape
        for c, (name, cut) in enumerate((("axis 0", v[d // 2]), ("axis 1", v[:, h // 2]), ("axis 2", v[:, :, w // 2]))):
            ax = axes[r][c]
            im = ax.imshow(cut.numpy(), cmap="coolwarm", vmin=low, vmax=high, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{labels[r]}: middle of {name}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_mesh(vertices: Tensor, faces: Tensor, path: str | os.PathLike[str], *, title: str = "") -> Path:
    """A triangle mesh (``(V, 3)`` vertices, ``(F, 3)`` faces) drawn shaded from two viewpoints.

    Example:
        >>> import os, tempfile, torch
        >>> vertices = torch.tensor([[0.0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
        >>> faces = torch.tensor([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])
        >>> plot_mesh(vertices, faces, os.path.join(tempfile.mkdtemp(), "m.png")).suffix
        '.png'
    """
    v, f = vertices.detach().float().cpu().numpy(), faces.detach().cpu().numpy()
    fig = _figure(8.0, 4.2)
    for i, (elev, azim) in enumerate(((25, 35), (-20, 210))):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        ax.plot_trisurf(v[:, 0], v[:, 1], v[:, 2], triangles=f, color="0.75", edgecolor="none", shade=True)
        ax.view_init(elev=elev, azim=azim)
        ax.set_box_aspect((1, 1, 1))
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(-1, 1)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_ticklabels([])
        ax.set_title(f"{len(f)} triangles" if i == 0 else "from behind", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
