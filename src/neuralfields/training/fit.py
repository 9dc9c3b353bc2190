"""Fit a field to one signal: an adapter on the engine (:mod:`neuralfields._loop`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from .._loop import resume_path, run
from .._task import StepInfo, StepOutput, Task, lr_at, psnr_of_mse
from ..errors import ConfigError, DTypeError, InvalidDataError
from ..fields.base import Field
from ..grid import RandomBatches, holdout_mask
from ._inputs import DEFAULTS, Signal, prepare_signal, recipe
from .history import FitResult
from .init import InitLike, resolve_init
from .losses import LossFn, loss_setting, resolve_loss
from .step import mse_backward

__all__ = ["fit", "DEFAULTS", "lr_at"]

_EVAL_CHUNK = 65536


@torch.no_grad()
def field_mse(field: Field, coords: Tensor, targets: Tensor) -> float:
    """Mean squared error of ``field`` on ``(coords (N, d), targets (N, C))``, in chunks, in float64."""
    total = 0.0
    for s in range(0, coords.shape[0], _EVAL_CHUNK):
        d = field(coords[s : s + _EVAL_CHUNK]) - targets[s : s + _EVAL_CHUNK]
        total += float((d.double() ** 2).sum())
    return total / (coords.shape[0] * targets.shape[1])


class _FitTask(Task):
    """One field, one signal: random batches (or the full batch) of the training samples."""

    def __init__(self, field: Field, train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor],
                 sampler: RandomBatches | None, loss: LossFn | None, forward: Any, shape: tuple[int, ...] | None) -> None:
        self.model, self.shape = field, shape
        self.x, self.y = train
        self.x_val, self.y_val = val
        self.sampler, self.loss, self.forward = sampler, loss, forward

    def step(self, step: int, lr: float) -> StepOutput:
        if self.sampler is None:
            x, y = self.x, self.y
        else:
            idx = self.sampler.batch(step).to(self.x.device)
            x, y = self.x[idx], self.y[idx]
        if self.loss is None:  # mean squared error: the family's fast step, in chunks on the CPU
            value = mse_backward(self.model, x, y, forward=self.forward)  # type: ignore[arg-type]
            return StepOutput(value, psnr_of_mse(value))
        loss = self.loss((self.forward or self.model)(x), y)  # type: ignore[operator]
        loss.backward()
        return StepOutput(float(loss.detach()))

    def evaluate(self) -> dict[str, float]:
        if not self.x_val.shape[0]:
            return {}
        return {"psnr": psnr_of_mse(field_mse(self.model, self.x_val, self.y_val))}  # type: ignore[arg-type]


def fit(
    field: Field,
    signal: Signal,
    *,
    steps: int = 500,
    lr: float | None = None,
    batch_size: int | None | str = "default",
    schedule: str | None = None,
    min_lr_ratio: float | None = None,
    loss: str | LossFn = "mse",
    init: InitLike = None,
    holdout: float = 0.0,
    eval_every: int = 10,
    seed: int = 0,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    value_range: tuple[float, float] | None = None,
    compile: bool = False,
    progress: bool = True,
) -> FitResult:
    """Fit ``field`` to a signal with Adam.

    Args:
        field: the field to train (in place), e.g. a :class:`~neuralfields.Siren`.
        signal: an image / signal ``(C, *spatial)`` in [0, 1] (the field sees it on [-1, 1]), or a pair
            ``(coords (N, d), values (N, C))`` taken as they are; with ``value_range``, a signal of any range.
        steps: total number of updates (including those done before a resume).
        lr: Adam's learning rate (default ``DEFAULTS["lr"]``).
        batch_size: random samples per step, drawn without replacement within an epoch; ``None``
            for the full batch; ``"default"`` for ``DEFAULTS["batch_size"]``.
        schedule: ``"cosine"`` or ``"constant"`` learning rate.
        min_lr_ratio: final / initial learning rate of the cosine schedule.
        loss: ``"mse"`` (default; the family's fast step where it has one, see
            :func:`~neuralfields.training.accumulate_mse_grad`), another name of
            :data:`~neuralfields.training.LOSSES`, or a callable ``(pred (N, C), target (N, C)) -> scalar``
            run with autograd on the whole batch. PSNR is recorded for ``"mse"`` only.
        init: where to start: an initialisation strategy (``"paper"``, ``"weight-scaling"``, ``"prefit"``,
            ``"meta"``, ``"shared-encoder"``, a spec, a ``.safetensors`` starting-point file or any callable on
            the field, see :mod:`neuralfields.training.init`) applied to ``field`` first, or ``None`` (default)
            to start from its current weights. Not applied when resuming.
        holdout: fraction of samples held out for validation (fixed by ``seed``), in [0, 1).
        eval_every: evaluate the held-out PSNR every this many steps (and at the end).
        seed: seed of the held-out set and the batch order.
        callbacks: called after each step with a :class:`~neuralfields.training.StepInfo`; one returning
            ``True`` stops the fit.
        checkpoint: write a checkpoint file here at the end (and every ``checkpoint_every`` steps).
        checkpoint_every: steps between checkpoints.
        resume: a checkpoint path to resume from, or ``True`` to resume from ``checkpoint`` if it exists;
            the fit continues bit-identically on the CPU.
        value_range: ``(low, high)``: the signal's values lie in this range (an SDF, audio in [-1, 1], a
            measurement in its units) and are mapped linearly onto the field's [-1, 1], for a grid signal
            and a ``(coords, values)`` pair alike; render with the same ``value_range`` to get values in
            it, unclamped. The PSNR is then relative to ``high - low``. ``None``: images in [0, 1], pairs
            as they are.
        compile: run the field's forward (and so its backward) through :func:`torch.compile`, with
            autograd on the whole batch: a one-off compilation (tens of seconds on a CPU). A
            :class:`~neuralfields.Siren` on the CPU measured faster without it (its hand-written
            step, ``benchmarks/RESULTS.md``); other fields may gain.
        progress: show a progress bar (only when stderr is a terminal).

    Returns:
        A :class:`FitResult` with the history and the final training / held-out PSNR.

    Raises:
        NonFiniteLossError: the loss became NaN or infinite (the message names the step).

    Note:
        The loop is the shared engine's (:mod:`neuralfields._loop`). Each MSE step goes through
        :func:`~neuralfields.training.mse_backward`: on the CPU the batch is processed in chunks of
        :data:`~neuralfields.training.CPU_CHUNK_SIZE` points (same gradient, a fraction of the memory),
        and a :class:`~neuralfields.Siren` uses its hand-written step. On Linux with glibc, ``malloc``
        keeps freed memory for reuse while the fit runs, so steps do not page-fault on fresh memory
        (``benchmarks/RESULTS.md``); the setting is restored afterwards. ``NEURALFIELDS_MALLOC=system``
        turns it off.

    Example:
        >>> import neuralfields as nf
        >>> img = nf.data.load_image("synthetic", size=32)
        >>> f = nf.Siren(2, 1, hidden_features=32, hidden_layers=2, seed=0)
        >>> res = nf.fit(f, img, steps=50, progress=False)
        >>> len(res.history.psnr), res.psnr > res.history.psnr[0]
        (50, True)
    """
    if not isinstance(field, Field):
        raise DTypeError(f"fit needs a neuralfields Field, got {type(field).__name__}")
    lr, batch_size, schedule, min_lr_ratio = recipe(lr, batch_size, schedule, min_lr_ratio)
    loss_fn = resolve_loss(loss)
    strategy = resolve_init(init)
    if not isinstance(eval_every, int) or isinstance(eval_every, bool) or eval_every < 1:
        raise ConfigError(f"eval_every must be a positive int, got {eval_every!r}")
    if strategy is not None and resume_path(resume, checkpoint) is None:
        strategy(field)
    param = next(field.parameters())
    coords, targets, shape = prepare_signal(field, signal, value_range)
    coords, targets = coords.to(param.device, param.dtype), targets.to(param.device, param.dtype)
    n = coords.shape[0]
    held = holdout_mask((n,), holdout, seed=seed).to(param.device)
    train_idx, val_idx = (~held).nonzero().squeeze(1), held.nonzero().squeeze(1)
    if train_idx.numel() == 0:
        raise InvalidDataError("no samples are left for training after the hold-out")
    full_batch = batch_size is None or batch_size >= train_idx.numel()
    sampler = None if full_batch else RandomBatches(train_idx.numel(), batch_size, seed=seed)
    forward = torch.compile(field) if compile else None  # None: the field's own (chunked) step
    task = _FitTask(field, (coords[train_idx], targets[train_idx]), (coords[val_idx], targets[val_idx]),
                    sampler, loss_fn, forward, shape)  # fmt: skip
    settings = {"batch_size": batch_size, "holdout": holdout, "seed": seed, "num_samples": n}
    settings.update(loss_setting(loss))
    result = run(
        task, steps=steps, lr=lr, schedule=schedule, min_lr_ratio=min_lr_ratio, eval_every=eval_every,
        callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        settings=settings, progress=progress, desc="fit",
    )  # fmt: skip
    val = result.history.val_psnr[-1] if len(val_idx) and result.history.val_step[-1:] == [result.steps] else None
    if len(val_idx) and val is None:
        val = psnr_of_mse(field_mse(field, task.x_val, task.y_val))
    return FitResult(
        field=field,
        history=result.history,
        psnr=psnr_of_mse(field_mse(field, task.x, task.y)),
        val_psnr=val,
        steps=result.steps,
        stopped_early=result.stopped_early,
    )
