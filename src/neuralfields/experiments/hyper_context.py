"""The context-pixel part of the HyperSiren study: set-encoder models trained on a fraction of each image's
pixels, their held-out PSNR and a picture of what they saw and made."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["context_study"]

_MISSING = (0.12, 0.22, 0.5)
"""Colour of the pixels outside the context in ``context.png`` (dark blue: not a grey level)."""


def _context_view(coords: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    """One item's context ``(M, 2), (M, C)`` drawn as an RGB image: its pixels in grey (or colour),
    the others in :data:`_MISSING`."""
    h, w = shape
    rows = torch.round(((coords[:, 0] + 1) * h - 1) / 2).long().clamp(0, h - 1)
    cols = torch.round(((coords[:, 1] + 1) * w - 1) / 2).long().clamp(0, w - 1)
    img = torch.tensor(_MISSING, dtype=values.dtype)[:, None, None].repeat(1, h, w)
    v = values.T.expand(3, -1) if values.shape[1] == 1 else values.T[:3]
    img[:, rows, cols] = v
    return img


def _grey_to_rgb(x: Tensor) -> Tensor:
    return x.expand(3, -1, -1) if x.shape[0] == 1 else x[:3]


def context_study(
    cfg: Any, train_set_model: Callable[[float], tuple[Any, Any]], rows_ctx: Tensor, shape: tuple[int, int],
    out: str | os.PathLike[str],
) -> tuple[dict[str, float], dict[str, Any]]:  # fmt: skip
    """Train a set-encoder model per fraction of ``cfg.context_fractions`` (``train_set_model(fraction) ->
    (model, HyperFitResult)``), draw ``context.png`` for the images ``rows_ctx`` ``(R, C, H, W)`` and return
    the held-out PSNR per fraction and the models' record."""
    from ..plots import plot_image_grid

    context: dict[str, float] = {}
    context_model: dict[str, Any] = {"encoder": "set", "head": cfg.context_head, "latent": cfg.context_latent,
                                     "pixels": {}, "train_psnr": {}, "seconds_per_step": {}}  # fmt: skip
    h, w = shape
    grid_cols: list[list[Tensor]] = [[] for _ in range(len(rows_ctx))]
    col_labels: list[str] = []
    for fraction in cfg.context_fractions:
        key = str(float(fraction))
        set_model, res = train_set_model(float(fraction))
        set_model.eval()
        context[key] = res.test_psnr_final  # type: ignore[assignment]
        context_model["pixels"][key] = max(1, round(fraction * h * w))
        context_model["train_psnr"][key] = res.train_psnr[-1]
        context_model["seconds_per_step"][key] = res.time_per_step
        with torch.no_grad():
            coords, values = set_model.context_from_images(rows_ctx, float(fraction), seed=cfg.seed + 1)
            recon = set_model.decode(set_model.encode_context(coords, values), (h, w))
        for r in range(len(rows_ctx)):
            grid_cols[r] += [_context_view(coords[r], values[r], (h, w)), _grey_to_rgb(recon[r])]
        pct = f"{100 * fraction:g}%"
        col_labels += [f"context {pct}\n({context_model['pixels'][key]} px)", f"from {pct}\n{context[key]:.2f} dB"]
    for r in range(len(rows_ctx)):
        grid_cols[r].append(_grey_to_rgb(rows_ctx[r]))
    plot_image_grid(grid_cols, Path(out) / "context.png", row_labels=[f"test {i}" for i in range(len(rows_ctx))],
                    col_labels=[*col_labels, "truth"],
                    title=f"set encoder ({cfg.context_head} head): reconstructions from context pixels (test PSNR)")  # fmt: skip
    return context, context_model
