"""Fit one conditioned field to a set of images (memorise a dataset), with held-out pixels per image (an
adapter on the engine, :mod:`neuralfields._loop`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_positive_int
from .._dist import is_main, rank_and_world
from .._history import History
from .._json import finite
from .._loop import resume_path, run
from .._task import Callback, StepInfo, StepOutput, Task, psnr_of_mse
from ..conditioning import ConditionedField
from ..errors import ConfigError, DTypeError, ShapeError
from ..fields.render import from_unit, render
from ..grid import RandomBatches, _item_seed, holdout_masks, make_grid
from ._inputs import DEFAULTS, stack_images
from .augment import augment_batch
from .init import InitLike, resolve_init
from .losses import LossFn, loss_setting, resolve_loss
from .step import mse_backward

__all__ = ["fit_dataset", "DatasetFitResult", "DatasetStepInfo"]

DatasetStepInfo = StepInfo
"""What a :func:`fit_dataset` callback sees: the engine's :class:`~neuralfields.training.StepInfo`."""


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
        steps: steps done.
        stopped_early: a callback stopped the fit before ``steps``.

    Example:
        >>> import neuralfields as nf
        >>> images = nf.data.load_dataset("shapes", n=3, size=8)
        >>> cond = nf.BinaryCode(3)
        >>> f = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=16, seed=0), cond)
        >>> res = nf.fit_dataset(f, images, steps=10, holdout=0.25, snapshot_items=[0], snapshot_steps=[5, 10],
        ...                      progress=False)
        >>> res.steps, len(res.item_psnr), len(res.item_val_psnr), tuple(res.holdout.shape), sorted(res.snapshots[0])
        (10, 3, 3, (3, 8, 8), [5, 10])
        >>> res.holdout.sum((1, 2)).tolist(), sorted(res.summary())[:3]
        ([16, 16, 16], ['item_psnr', 'item_val_psnr', 'psnr'])
    """

    field: ConditionedField
    history: History
    psnr: float
    val_psnr: float | None
    item_psnr: list[float]
    item_val_psnr: list[float]
    holdout: Tensor
    snapshots: dict[int, dict[int, Tensor]] = field(default_factory=dict)
    steps: int = 0
    stopped_early: bool = False

    def summary(self) -> dict[str, Any]:
        """Final figures as a JSON-serialisable dict."""
        return finite({
            "steps": self.steps,
            "psnr": self.psnr,
            "val_psnr": self.val_psnr,
            "item_psnr": self.item_psnr,
            "item_val_psnr": self.item_val_psnr,
            "seconds": self.history.elapsed,
        })  # fmt: skip


class _DatasetTask(Task):
    """One conditioned field, N images: items per step, training pixels per item, optional augmentation."""

    def __init__(self, field: ConditionedField, data: Tensor, masks_2d: Tensor, seed: int, items_per_step: int | None,
                 pixels_per_item: int | None, augment: nn.Module | None, loss: LossFn | None) -> None:
        param = next(field.parameters())
        device, dtype = param.device, param.dtype
        n, c, h, w = data.shape
        self.model, self.shape = field, (h, w)
        self.data, self.masks_2d, self.seed, self.augment, self.loss = data, masks_2d, seed, augment, loss
        self.coords = make_grid((h, w), device=device, dtype=dtype).reshape(-1, 2)  # (P, 2)
        self.values = from_unit(data.to(device, dtype)).reshape(n, c, -1).transpose(1, 2)  # (N, P, C)
        masks = masks_2d.reshape(n, -1)
        self.train_idx = torch.stack([(~m).nonzero().squeeze(1) for m in masks]).to(device)  # (N, T), equal T
        self.val_idx = torch.stack([m.nonzero().squeeze(1) for m in masks]).to(device)  # (N, K)
        t = self.train_idx.shape[1]
        items = n if items_per_step is None else check_positive_int("items_per_step", items_per_step)
        pixels = t if pixels_per_item is None else check_positive_int("pixels_per_item", pixels_per_item)
        self.item_batches = RandomBatches(n, items, seed=seed)  # 0 is an error, not "all"
        self.pixel_batches = RandomBatches(t, pixels, seed=seed + 1)
        self.all_items = torch.arange(n, device=device)

    def step(self, step: int, lr: float) -> StepOutput:
        field, c = self.model, self.values.shape[-1]
        device, dtype = self.coords.device, self.coords.dtype
        batch = self.item_batches.batch(step).to(device)
        part = self.part(len(batch))  # this process's items (all of them in one process)
        items = batch[part]
        share = len(items) / len(batch)
        pix_all = self.train_idx[batch][:, self.pixel_batches.batch(step).to(device)]  # (B, p)
        pix = pix_all[part]  # (b, p)
        if self.augment is None:
            if not len(items):
                return StepOutput(0.0, share=0.0)
            target = torch.gather(self.values[items], 1, pix[..., None].expand(-1, -1, c))
            features, codes = field.inputs(items, device=device)  # type: ignore[union-attr]
            if codes is None and self.loss is None:  # coordinates and item channels: the inner field's fast step
                x = self.coords[pix]
                x = torch.cat([x, features.to(x)[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
                value = mse_backward(field.field, x.reshape(-1, x.shape[-1]), target.reshape(-1, c))  # type: ignore[union-attr]
                return StepOutput(value, psnr_of_mse(value), share=share)
            pred = field(self.coords[pix], items)  # type: ignore[misc]
            keep = None
        else:  # the whole batch is augmented in every process, so that its draws are those of one process
            cpu_batch = batch.cpu()
            images_aug, ok = augment_batch(
                self.augment, self.data[cpu_batch].to(device, dtype), self.masks_2d[cpu_batch].to(device),
                _item_seed(self.seed, step),
            )  # fmt: skip
            keep_all = torch.gather(ok.reshape(len(batch), -1), 1, pix_all)  # (B, p): pixels that may be trained on
            keep = keep_all[part]
            kept = float(keep_all.sum())
            share = float(keep.sum()) / kept if kept else share
            if not len(items):
                return StepOutput(0.0, share=0.0)
            vals = from_unit(images_aug[part]).reshape(len(items), c, -1).transpose(1, 2)
            target = torch.gather(vals, 1, pix[..., None].expand(-1, -1, c))
            pred = field(self.coords[pix], items)  # type: ignore[misc]
        if self.loss is not None:
            loss = self.loss(pred[keep] if keep is not None else pred.reshape(-1, c),
                             target[keep] if keep is not None else target.reshape(-1, c))  # fmt: skip
        elif keep is None:
            loss = torch.mean((pred - target) ** 2)
        else:
            weight = keep.to(dtype)[..., None]
            loss = torch.sum(weight * (pred - target) ** 2) / (weight.sum().clamp_min(1.0) * c)
        loss.backward()
        value = float(loss.detach())
        return StepOutput(value, psnr_of_mse(value) if self.loss is None else None, share=share)

    def evaluate(self) -> dict[str, float]:
        if not self.val_idx.shape[1]:
            return {}
        return {"psnr": psnr_of_mse(float(self.item_mse(self.val_idx).mean()))}

    @torch.no_grad()
    def item_mse(self, idx: Tensor, chunk: int = 64) -> Tensor:
        """Per-item mean squared error ``(N,)`` over the pixels ``idx (N, K)``."""
        out = []
        c = self.values.shape[-1]
        for s in range(0, self.all_items.shape[0], chunk):
            it = self.all_items[s : s + chunk]
            pix = idx[it]
            pred = self.model(self.coords[pix], it)  # type: ignore[misc]
            target = torch.gather(self.values[it], 1, pix[..., None].expand(-1, -1, c))
            out.append(((pred - target).double() ** 2).mean(dim=(1, 2)))
        return torch.cat(out)


class _ItemSnapshots(Callback):
    """Render chosen items at chosen steps (``snapshots[item][step]``)."""

    def __init__(self, items: Sequence[int], steps: Sequence[int], shape: tuple[int, ...]) -> None:
        self.items, self.steps, self.shape = list(items), set(steps), shape
        self.snapshots: dict[int, dict[int, Tensor]] = {i: {} for i in self.items}

    def __call__(self, info: StepInfo) -> None:
        if info.step in self.steps:
            with torch.no_grad():
                for i in self.items:
                    self.snapshots[i][info.step] = render(info.model.item(i), self.shape).cpu()


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
    loss: str | LossFn = "mse",
    init: InitLike = None,
    schedule: str | None = None,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
    data_parallel: bool = True,
) -> DatasetFitResult:
    """Train one conditioned field on N images; item ``i`` is image ``i``.

    A fixed set of pixels of each image (``holdout``, default 10%; the same for the same seed, and
    image ``i``'s set depends only on ``seed`` and ``i``) is never trained on and measures generalisation.

    Under a ``torch.distributed`` process group of several processes (``torchrun``), the training is
    data-parallel: each process computes its part of every batch, the gradients are summed over the
    processes and rank 0 alone writes checkpoints (see the "Scaling out" page of the docs).

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
        loss: ``"mse"`` (default), another name of :data:`~neuralfields.training.LOSSES` or a callable
            ``(pred (M, C), target (M, C)) -> scalar`` (autograd); see :func:`~neuralfields.fit`.
        init: an initialisation strategy applied to the shared inner field first (see
            :func:`~neuralfields.fit`); ``None`` (default) keeps its weights. Not applied when resuming.
        schedule: ``"cosine"`` (default) or ``"constant"`` learning rate.
        callbacks: called after each step with a :class:`~neuralfields.training.StepInfo`; ``True`` stops
            the fit.
        checkpoint, checkpoint_every, resume: as in :func:`~neuralfields.fit` (bit-identical resume on the
            CPU; the snapshots of ``snapshot_steps`` before a resume are not kept).
        progress: progress bar (only when stderr is a terminal).
        data_parallel: under a ``torch.distributed`` process group of several processes, train
            data-parallel (the default: the same call in every process, see above); ``False`` trains
            each process on its own.

    Note:
        Without augmentation, and when the conditioning feeds the field only extra input channels (an
        index, a binary code, concatenated latent codes), each step is the inner field's fast step
        (:func:`~neuralfields.training.mse_backward`); FiLM / shift modulations and augmentation train
        through autograd.

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
    data = stack_images(images)
    n, c, h, w = data.shape
    if n > field.num_items:
        raise ConfigError(f"the dataset has {n} images but the field's conditioning supports {field.num_items} items")
    if c != field.out_features or field.in_features != 2:
        raise ShapeError(
            f"images of {c} channels need a conditioned field with 2-D coordinates and out_features={c}, "
            f"got in_features={field.in_features}, out_features={field.out_features}"
        )
    strategy = resolve_init(init)
    follower = data_parallel and rank_and_world()[1] > 1 and not is_main()  # it starts from rank 0's weights
    if strategy is not None and not follower and resume_path(resume, checkpoint) is None:
        strategy(field.field)
    lr = DEFAULTS["lr"] if lr is None else lr
    schedule = DEFAULTS["schedule"] if schedule is None else schedule
    masks_2d = holdout_masks(n, (h, w), holdout, seed=seed)
    task = _DatasetTask(field, data, masks_2d, seed, items_per_step, pixels_per_item, augment, resolve_loss(loss))
    task.data_parallel = bool(data_parallel)
    snaps = _ItemSnapshots(snapshot_items, snapshot_steps, tuple(snapshot_shape) if snapshot_shape is not None else (h, w))
    settings = {"items_per_step": items_per_step, "pixels_per_item": pixels_per_item, "holdout": holdout,
                "seed": seed, "num_items": n, "augment": augment is not None}  # fmt: skip
    settings.update(loss_setting(loss))
    result = run(
        task, steps=steps, lr=lr, schedule=schedule, min_lr_ratio=DEFAULTS["min_lr_ratio"], eval_every=eval_every,
        callbacks=[snaps, *callbacks], checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        settings=settings, progress=progress, desc="fit_dataset",
    )  # fmt: skip
    train_mse = task.item_mse(task.train_idx)
    val_mse = task.item_mse(task.val_idx) if task.val_idx.shape[1] else None
    return DatasetFitResult(
        field=field,
        history=result.history,
        psnr=psnr_of_mse(float(train_mse.mean())),
        val_psnr=psnr_of_mse(float(val_mse.mean())) if val_mse is not None else None,
        item_psnr=[psnr_of_mse(float(m)) for m in train_mse],
        item_val_psnr=[psnr_of_mse(float(m)) for m in val_mse] if val_mse is not None else [],
        holdout=masks_2d.reshape(n, h, w),
        snapshots=snaps.snapshots,
        steps=result.steps,
        stopped_early=result.stopped_early,
    )
