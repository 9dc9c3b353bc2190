"""Data augmentation for dataset fits, through kornia (flips, rotations, crops, colour jitter)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError

__all__ = ["augmentation", "augment_batch"]


def augmentation(
    size: Sequence[int],
    *,
    flip: bool = True,
    rotation: float = 10.0,
    crop_scale: tuple[float, float] | None = (0.8, 1.0),
    jitter: float = 0.1,
) -> nn.Module:
    """A kornia augmentation pipeline for :func:`~neuralfields.fit_dataset` (``augment=``).

    Args:
        size: image size ``(H, W)`` (crops are resized back to it).
        flip: random horizontal flips.
        rotation: maximum rotation in degrees (0 for none).
        crop_scale: random resized crops covering this fraction range of the image (``None`` for none).
        jitter: brightness / contrast / saturation jitter strength (0 for none).

    Returns:
        A ``kornia.augmentation.AugmentationSequential`` that transforms images and masks together.

    Example:
        >>> aug = augmentation((16, 16), rotation=15.0)
        >>> out, mask = aug(torch.rand(2, 1, 16, 16), torch.zeros(2, 2, 16, 16))
        >>> out.shape, mask.shape
        (torch.Size([2, 1, 16, 16]), torch.Size([2, 2, 16, 16]))
    """
    import kornia.augmentation as K

    h, w = (int(s) for s in size)
    ops: list[nn.Module] = []
    if flip:
        ops.append(K.RandomHorizontalFlip())
    if rotation:
        ops.append(K.RandomRotation(float(rotation), p=1.0))
    if crop_scale is not None:
        ops.append(K.RandomResizedCrop((h, w), scale=tuple(crop_scale), ratio=(w / h, w / h)))
    if jitter:
        ops.append(K.ColorJitter(jitter, jitter, jitter, 0.0, p=1.0))
    if not ops:
        raise ConfigError("the augmentation does nothing: enable flip, rotation, crop_scale or jitter")
    return K.AugmentationSequential(*ops, data_keys=["input", "mask"])


def augment_batch(augment: nn.Module, images: Tensor, held_out: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    """Augment images and find the pixels that may be trained on.

    Held-out values never leak into training targets: before augmenting, each held-out pixel is
    replaced by the mean of its nearest training pixels, so resampling mixes only training values;
    the held-out mask is transformed with the images, and a pixel may be trained on when it maps to a
    training pixel inside the original image.

    Args:
        augment: a pipeline from :func:`augmentation` (images and masks transformed together).
        images: ``(B, C, H, W)`` in [0, 1].
        held_out: boolean ``(B, H, W)``.
        seed: seed of this batch's random transforms (the global RNG is left untouched).

    Returns:
        ``(augmented (B, C, H, W), trainable (B, H, W) boolean)``.

    Example:
        >>> aug = augmentation((8, 8), rotation=0.0, crop_scale=None, jitter=0.0)  # random flips only
        >>> images = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> held = torch.zeros(2, 8, 8, dtype=torch.bool)
        >>> held[:, 3:5, 3:5] = True
        >>> out, trainable = augment_batch(aug, images, held, seed=0)
        >>> out.shape, trainable.sum((1, 2)).tolist()  # the 4 held-out pixels are not trained on
        (torch.Size([2, 1, 8, 8]), [60, 60])
        >>> bool(torch.equal(augment_batch(aug, images, held, seed=0)[0], out))  # one seed, one batch
        True
    """
    held = held_out[:, None].float()
    images = _fill_from_training_pixels(images, held)
    masks = torch.cat([held, torch.ones_like(held)], dim=1)  # held-out, inside-the-image
    devices = [images.device] if images.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        out, masks = augment(images, masks)
    trainable = (masks[:, 0] < 1e-6) & (masks[:, 1] > 1 - 1e-6)
    return out.clamp(0.0, 1.0), trainable


def _fill_from_training_pixels(images: Tensor, held: Tensor) -> Tensor:
    """Replace held-out pixels ``held (B, 1, H, W)`` by the mean of the nearest known pixels, growing
    the known region one ring at a time."""
    known = 1.0 - held
    values = images * known
    for _ in range(max(images.shape[-2:])):
        if bool((known > 0).all()):
            break
        total = F.avg_pool2d(values, 3, stride=1, padding=1, divisor_override=1)
        count = F.avg_pool2d(known, 3, stride=1, padding=1, divisor_override=1)
        fresh = (count > 0) & (known == 0)
        values = torch.where(fresh, total / count.clamp_min(1.0), values)
        known = torch.maximum(known, fresh.float())
    return values
