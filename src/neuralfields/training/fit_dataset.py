"""Fit one conditioned field to a set of images (memorise a dataset), with held-out pixels per image."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .._json import finite
from ..conditioning import ConditionedField
from ..errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from ..fields.render import from_unit, render
from ..grid import RandomBatches, _item_seed, holdout_masks, make_grid
from .augment import augment_batch
from .._allocator import keep_freed_memory
from .._progress import progress_bar
from .fit import DEFAULTS, _check_loop, _psnr_of_mse, _record, _update, lr_at
from .history import History

__all__ = ["fit_dataset", "DatasetFitResult", "DatasetStepInfo"]


@dataclass
class DatasetStepInfo:
    """What a :func:`fit_dataset` callback sees after a step (see :class:`~neuralfields.training.StepInfo`)."""

    step: int
    total: int
    field: ConditionedField
    loss: float
    psnr: float
    val_psnr: float | None
    history: History
    shape: tuple[int, ...]


@dataclass
class DatasetFitResult:
    """The outcome of :func:`fit_dataset`.

    Attributes:
        field: the fitted conditioned field.
        history: per-step training loss / PSNR (of the step's batch) and held-out PSNR at evaluations.
        psnr: PSNR over the training pixels of all images after the last step.
        val_psnr: PSNR over the held-out pixels of all images, or ``None`` without a hold-out.
        item_psnr: per-image PSNR on its training pixels.
        item_val_psnr: per-image PSNR on its held-out pixels (empty without a hold-out).
        holdout: the held-out masks ``(N, H, W)`` that were used.
        snapshots: ``{item: {step: image}}`` renders of chosen items at chosen steps.
    """

    field: ConditionedField
    history: History
    psnr: float
    val_psnr: float | None
    item_psnr: list[float]
    item_val_psnr: list[float]
    holdout: Tensor
    snapshots: dict[int, dict[int, Tensor]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Final figures as a JSON-serialisable dict."""
        return finite({
            "steps": len(self.history),
            "psnr": self.psnr,
            "val_psnr": self.val_psnr,
            "item_psnr": self.item_psnr,
            "item_val_psnr": self.item_val_psnr,
            "seconds": self.history.elapsed,
        })  # fmt: skip


def _stack(images: Tensor | Sequence[Tensor]) -> Tensor:
    if isinstance(images, Tensor):
        stacked = images
    else:
        images = list(images)
        if not images:
            raise InvalidDataError("the dataset is empty; give at least one image")
        shapes = {tuple(im.shape) for im in images}
        if len(shapes) > 1:
            raise ShapeError(f"all images must have the same shape, got {sorted(shapes)}; resize them first")
        stacked = torch.stack(list(images))
    if not stacked.is_floating_point():
        raise DTypeError(f"images must be floating point in [0, 1], got {stacked.dtype}")
    if stacked.dim() != 4:
        raise ShapeError(f"images must be (N, C, H, W) or a list of (C, H, W), got {tuple(stacked.shape)}")
    if stacked.shape[0] == 0:
        raise InvalidDataError("the dataset is empty; give at least one image")
    if not bool(torch.isfinite(stacked).all()):
        raise InvalidDataError("the images contain NaN or infinite values")
    if stacked.min() < -1e-6 or stacked.max() > 1 + 1e-6:
        raise InvalidDataError("image values must be in [0, 1]; divide 8-bit images by 255")
    return stacked


def fit_dataset(
    field: ConditionedField,
    images: Tensor | Sequence[Tensor],
    *,
    steps: int = 1000,
    lr: float | None = None,
    items_per_step: int | None = None,
    pixels_per_item: int | None = None,
    holdout: float = 0.1,
    eval_every: int = 50,
    seed: int = 0,
    snapshot_items: Sequence[int] = (),
    snapshot_steps: Sequence[int] = (),
    snapshot_shape: Sequence[int] | None = None,
    augment: nn.Module | None = None,
    callbacks: Iterable[Callable[[DatasetStepInfo], bool | None]] = (),
    progress: bool = True,
) -> DatasetFitResult:
    """Train one conditioned field on N images; item ``i`` is image ``i``.

    A fixed set of pixels of each image (``holdout``, default 10%; the same for the same seed, and
    image ``i``'s set depends only on ``seed`` and ``i``) is never trained on and measures generalisation.

    Args:
        field: a :class:`~neuralfields.ConditionedField` with at least N items and ``out_features = C``.
        images: ``(N, C, H, W)`` or a list of ``(C, H, W)`` in [0, 1], all the same size.
        steps: training steps.
        lr: Adam's learning rate (cosine schedule); default ``DEFAULTS["lr"]``.
        items_per_step: images per step, drawn without replacement within an epoch; ``None`` for all.
        pixels_per_item: training pixels per image per step (all of an image's training pixels are
            visited once per epoch); ``None`` for all of them.
        holdout: fraction of each image's pixels held out, in [0, 1).
        eval_every: evaluate the held-out PSNR every this many steps (and at the end).
        seed: seed of the held-out sets and the batch order.
        snapshot_items: items to render at ``snapshot_steps``.
        snapshot_steps: steps at which to render them.
        snapshot_shape: render shape of the snapshots (default: the images' size).
        augment: optional augmentation applied to the step's images, e.g.
            ``neuralfields.training.augmentation((H, W))`` (kornia flips, rotations, crops, colour
            jitter); pixels that come from held-out pixels or from outside the image are not trained
            on (see :func:`~neuralfields.training.augment_batch`).
        callbacks: called after each step with a :class:`DatasetStepInfo`; ``True`` stops the fit.
        progress: progress bar (only when stderr is a terminal).

    Example:
        >>> import neuralfields as nf
        >>> images = torch.stack([nf.data.load_image(n, size=12, channels=1) for n in ("camera", "moon", "coins")])
        >>> cond = nf.BinaryCode(3)
        >>> f = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=32, seed=0), cond)
        >>> res = nf.fit_dataset(f, images, steps=30, progress=False)
        >>> len(res.item_psnr), res.val_psnr is not None
        (3, True)
    """
    if not isinstance(field, ConditionedField):
        raise DTypeError(f"fit_dataset needs a ConditionedField, got {type(field).__name__}")
    data = _stack(images)
    n, c, h, w = data.shape
    if n > field.num_items:
        raise ConfigError(f"the dataset has {n} images but the field's conditioning supports {field.num_items} items")
    if c != field.out_features or field.in_features != 2:
        raise ShapeError(
            f"images of {c} channels need a conditioned field with 2-D coordinates and out_features={c}, "
            f"got in_features={field.in_features}, out_features={field.out_features}"
        )
    lr = DEFAULTS["lr"] if lr is None else lr
    _check_loop(steps, lr, eval_every)

    param = next(field.parameters())
    device, dtype = param.device, param.dtype
    coords = make_grid((h, w), device=device, dtype=dtype).reshape(-1, 2)  # (P, 2)
    values = from_unit(data.to(device, dtype)).reshape(n, c, -1).transpose(1, 2)  # (N, P, C)
    masks_2d = holdout_masks(n, (h, w), holdout, seed=seed)
    masks = masks_2d.reshape(n, -1)
    train_idx = torch.stack([(~m).nonzero().squeeze(1) for m in masks]).to(device)  # (N, T), equal T
    val_idx = torch.stack([m.nonzero().squeeze(1) for m in masks]).to(device)  # (N, K)
    t = train_idx.shape[1]
    item_batches = RandomBatches(n, items_per_step or n, seed=seed)
    pixel_batches = RandomBatches(t, pixels_per_item or t, seed=seed + 1)
    all_items = torch.arange(n, device=device)

    keep_freed_memory()  # no page faults on fresh memory every step (see neuralfields._allocator)
    optimizer = torch.optim.Adam(field.parameters(), lr=lr)
    history = History()
    snapshots: dict[int, dict[int, Tensor]] = {i: {} for i in snapshot_items}
    snap_shape = tuple(snapshot_shape) if snapshot_shape is not None else (h, w)
    bar = progress_bar(progress, steps, "fit_dataset")
    try:
        for step in range(steps):
            t0 = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, steps, lr, "cosine", DEFAULTS["min_lr_ratio"])
            items = item_batches.batch(step).to(device)
            pix = train_idx[items][:, pixel_batches.batch(step).to(device)]  # (b, p)
            pred = field(coords[pix], items)
            if augment is None:
                target = torch.gather(values[items], 1, pix[..., None].expand(-1, -1, c))
                loss = torch.mean((pred - target) ** 2)
            else:
                cpu_items = items.cpu()
                images_aug, ok = augment_batch(
                    augment, data[cpu_items].to(device, dtype), masks_2d[cpu_items].to(device), _item_seed(seed, step)
                )
                vals = from_unit(images_aug).reshape(len(items), c, -1).transpose(1, 2)
                target = torch.gather(vals, 1, pix[..., None].expand(-1, -1, c))
                weight = torch.gather(ok.reshape(len(items), -1), 1, pix).to(dtype)[..., None]
                loss = torch.sum(weight * (pred - target) ** 2) / (weight.sum().clamp_min(1.0) * c)
            loss_value = _update(optimizer, loss, step, lr)
            done = step + 1
            _record(history, done, loss_value, time.perf_counter() - t0)
            val = None
            if val_idx.shape[1] and (done % eval_every == 0 or done == steps):
                val = _psnr_of_mse(_item_mse(field, coords, values, val_idx, all_items).mean().item())
                history.val_step.append(done)
                history.val_psnr.append(val)
            if done in snapshot_steps:
                for i in snapshot_items:
                    snapshots[i][done] = _render_item(field, i, snap_shape)
            if bar is not None:
                bar.update(1)
            info = DatasetStepInfo(done, steps, field, loss_value, history.psnr[-1], val, history, (h, w))
            if any([bool(cb(info)) for cb in callbacks]):
                break
    finally:
        if bar is not None:
            bar.close()

    train_mse = _item_mse(field, coords, values, train_idx, all_items)
    val_mse = _item_mse(field, coords, values, val_idx, all_items) if val_idx.shape[1] else None
    return DatasetFitResult(
        field=field,
        history=history,
        psnr=_psnr_of_mse(float(train_mse.mean())),
        val_psnr=_psnr_of_mse(float(val_mse.mean())) if val_mse is not None else None,
        item_psnr=[_psnr_of_mse(float(m)) for m in train_mse],
        item_val_psnr=[_psnr_of_mse(float(m)) for m in val_mse] if val_mse is not None else [],
        holdout=masks.reshape(n, h, w),
        snapshots=snapshots,
    )


@torch.no_grad()
def _item_mse(field: ConditionedField, coords: Tensor, values: Tensor, idx: Tensor, items: Tensor, chunk: int = 64) -> Tensor:
    """Per-item mean squared error ``(N,)`` over the pixels ``idx (N, K)``."""
    out = []
    c = values.shape[-1]
    for s in range(0, items.shape[0], chunk):
        it = items[s : s + chunk]
        pix = idx[it]
        pred = field(coords[pix], it)
        target = torch.gather(values[it], 1, pix[..., None].expand(-1, -1, c))
        out.append(((pred - target).double() ** 2).mean(dim=(1, 2)))
    return torch.cat(out)


@torch.no_grad()
def _render_item(field: ConditionedField, item: int, shape: tuple[int, ...]) -> Tensor:
    return render(field.item(item), shape).cpu()

