"""Upsampling: render a field trained at low resolution at high resolution, and compare with bicubic."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .._json import finite
from ..conditioning import ConditionedField
from ..errors import ShapeError
from ..fields.base import Field
from ..fields.render import render
from ..training.metrics import psnr, ssim

__all__ = ["upsampling_table"]


def _batch(x: Tensor, what: str) -> Tensor:
    if x.dim() == 3:
        x = x[None]
    if x.dim() != 4:
        raise ShapeError(f"{what} must be (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
    return x


@torch.no_grad()
def upsampling_table(field: Field | ConditionedField, low: Tensor, high: Tensor) -> dict[str, Any]:
    """PSNR / SSIM of the field's high-resolution renders and of bicubic upsampling, against the truth.

    Args:
        field: a field fitted to ``low`` (a plain field for one image, or a conditioned field whose
            item ``i`` is image ``i``).
        low: the training images ``(N, C, h, w)`` (or one ``(C, h, w)``) in [0, 1].
        high: the true high-resolution images ``(N, C, H, W)`` in [0, 1].

    Returns:
        ``{"rows": [{"item", "field_psnr", "field_ssim", "bicubic_psnr", "bicubic_ssim"}, ...],
        "mean": {...}, "renders": (N, C, H, W), "bicubic": (N, C, H, W)}``.

    Example:
        >>> import neuralfields as nf
        >>> high = nf.data.load_image("camera", size=32)
        >>> low = nf.data.resize(high, 16)
        >>> f = nf.Siren(2, 1, hidden_features=32, seed=0)
        >>> _ = nf.fit(f, low, steps=30, progress=False)
        >>> sorted(upsampling_table(f, low, high)["mean"])
        ['bicubic_psnr', 'bicubic_ssim', 'field_psnr', 'field_ssim']
    """
    low, high = _batch(low, "low"), _batch(high, "high")
    if low.shape[:2] != high.shape[:2]:
        raise ShapeError(f"low and high must hold the same images and channels, got {tuple(low.shape)} and {tuple(high.shape)}")
    n, _, hh, ww = high.shape
    if isinstance(field, ConditionedField):
        renders = torch.stack([render(field.item(i), (hh, ww)).cpu() for i in range(n)])
    else:
        if n != 1:
            raise ShapeError(f"a plain field represents one image, got {n}; use a ConditionedField for many")
        renders = render(field, (hh, ww)).cpu()[None]
    bicubic = F.interpolate(low.float(), size=(hh, ww), mode="bicubic", align_corners=False).clamp(0, 1)
    rows = []
    for i in range(n):
        rows.append({
            "item": i,
            "field_psnr": psnr(renders[i], high[i]),
            "field_ssim": ssim(renders[i], high[i]),
            "bicubic_psnr": psnr(bicubic[i], high[i]),
            "bicubic_ssim": ssim(bicubic[i], high[i]),
        })  # fmt: skip
    keys = ("field_psnr", "field_ssim", "bicubic_psnr", "bicubic_ssim")
    mean = finite({k: float(sum(r[k] for r in rows) / n) for k in keys})
    return {"rows": rows, "mean": mean, "renders": renders, "bicubic": bicubic}
