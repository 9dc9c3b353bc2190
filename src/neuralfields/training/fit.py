"""Fit a field to one signal."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._allocator import keep_freed_memory
from .._progress import progress_bar
from ..errors import CheckpointError, ConfigError, DTypeError, InvalidDataError, ShapeError
from ..fields.base import Field
from ..fields.render import from_unit
from ..grid import RandomBatches, holdout_mask, signal_to_samples
from .callbacks import StepInfo
from .checkpoint import load_checkpoint, save_checkpoint
from .history import FitResult, History
from .metrics import mse_to_psnr
from .step import mse_backward

__all__ = ["fit", "DEFAULTS", "lr_at"]

Signal = Tensor | tuple[Tensor, Tensor]

DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "batch_size": 16384,
    "schedule": "cosine",
    "min_lr_ratio": 0.01,
}
"""The default recipe of :func:`fit` (chosen by measurement: see ``benchmarks/RESULTS.md``)."""

_SCHEDULES = ("constant", "cosine")
_EVAL_CHUNK = 65536


def lr_at(step: int, steps: int, lr: float, schedule: str, min_lr_ratio: float) -> float:
    """Learning rate of update ``step`` (0-based) of ``steps``.

    ``"constant"`` keeps ``lr``; ``"cosine"`` anneals from ``lr`` to ``lr * min_lr_ratio`` over the fit.
    """
    if schedule == "constant" or steps <= 1:
        return lr
    t = step / (steps - 1)
    return lr * (min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t)))


def _prepare(field: Field, signal: Signal) -> tuple[Tensor, Tensor, tuple[int, ...] | None]:
    """(coords (N, d), targets (N, C) on the field's scale, spatial shape or None)."""
    if isinstance(signal, (tuple, list)):
        if len(signal) != 2:
            raise ShapeError("a (coords, values) signal must be a pair of tensors")
        coords, values = signal
        for name, t in (("coords", coords), ("values", values)):
            if not isinstance(t, Tensor) or not t.is_floating_point():
                raise DTypeError(f"{name} must be a floating-point tensor, got {getattr(t, 'dtype', type(t))}")
        if coords.dim() != 2 or values.dim() != 2 or coords.shape[0] != values.shape[0]:
            raise ShapeError(
                f"(coords, values) must have shapes (N, d) and (N, C) with the same N, "
                f"got {tuple(coords.shape)} and {tuple(values.shape)}"
            )
        shape = None
        targets = values
    elif isinstance(signal, Tensor):
        if not signal.is_floating_point():
            raise DTypeError(
                f"the signal must be a floating-point tensor in [0, 1], got {signal.dtype}; "
                f"convert 8-bit images with img.float() / 255"
            )
        if signal.dim() < 2:
            raise ShapeError(
                f"the signal must have shape (C, *spatial), e.g. an image (C, H, W), got {tuple(signal.shape)}"
            )
        coords, values = signal_to_samples(signal)
        shape = tuple(signal.shape[1:])
        targets = from_unit(values)
    else:
        raise DTypeError(f"signal must be a tensor (C, *spatial) or a (coords, values) pair, got {type(signal).__name__}")
    if coords.shape[0] == 0:
        raise InvalidDataError("the signal has no samples")
    if not bool(torch.isfinite(values).all()):
        raise InvalidDataError("the signal contains NaN or infinite values; mask or replace them before fitting")
    if not bool(torch.isfinite(coords).all()):
        raise InvalidDataError("the coordinates contain NaN or infinite values")
    if shape is not None and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
        raise InvalidDataError(
            f"image values must be in [0, 1], got [{float(values.min()):.3g}, {float(values.max()):.3g}]; "
            f"divide 8-bit images by 255, or pass a (coords, values) pair to fit other ranges"
        )
    if coords.shape[1] != field.in_features:
        raise ShapeError(
            f"the signal has {coords.shape[1]}-D coordinates but the field takes in_features="
            f"{field.in_features}; build the field with in_features={coords.shape[1]}"
        )
    if targets.shape[1] != field.out_features:
        raise ShapeError(
            f"the signal has {targets.shape[1]} channels but the field has out_features="
            f"{field.out_features}; build the field with out_features={targets.shape[1]}"
        )
    return coords, targets, shape


def _recipe(lr: Any, batch_size: Any, schedule: Any, min_lr_ratio: Any) -> tuple[Any, Any, str, float]:
    """``(lr, batch_size, schedule, min_lr_ratio)`` with :data:`DEFAULTS` filled in; checks the schedule."""
    lr = DEFAULTS["lr"] if lr is None else lr
    batch_size = DEFAULTS["batch_size"] if batch_size == "default" else batch_size
    schedule = DEFAULTS["schedule"] if schedule is None else schedule
    min_lr_ratio = DEFAULTS["min_lr_ratio"] if min_lr_ratio is None else min_lr_ratio
    if schedule not in _SCHEDULES:
        raise ConfigError(f"unknown schedule {schedule!r}; use one of {_SCHEDULES}")
    return lr, batch_size, schedule, min_lr_ratio


def _check_loop(steps: Any, lr: Any, eval_every: Any) -> None:
    if not isinstance(steps, int) or steps < 0:
        raise ConfigError(f"steps must be a non-negative int, got {steps!r}")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise ConfigError(f"lr must be positive, got {lr!r}")
    if not isinstance(eval_every, int) or eval_every < 1:
        raise ConfigError(f"eval_every must be a positive int, got {eval_every!r}")


def _update(optimizer: torch.optim.Optimizer, loss: Tensor | Callable[[], float], step: int, lr: float) -> float:
    """One optimiser step on ``loss`` (a tensor, or a function that runs the backward pass and returns
    the loss); returns its value, or raises if it is not finite."""
    optimizer.zero_grad(set_to_none=True)
    if callable(loss):
        value = loss()
    else:
        loss.backward()
        value = float(loss.detach())
    optimizer.step()
    if not math.isfinite(value):
        raise InvalidDataError(f"the loss became {value} at step {step + 1}; lower the learning rate (lr={lr})")
    return value


def _record(history: History, done: int, loss: float, elapsed: float) -> None:
    history.step.append(done)
    history.loss.append(loss)
    history.psnr.append(_psnr_of_mse(loss))
    history.time.append(elapsed)


@torch.no_grad()
def _mse(field: Field, coords: Tensor, targets: Tensor) -> float:
    total = 0.0
    for s in range(0, coords.shape[0], _EVAL_CHUNK):
        d = field(coords[s : s + _EVAL_CHUNK]) - targets[s : s + _EVAL_CHUNK]
        total += float((d.double() ** 2).sum())
    return total / (coords.shape[0] * targets.shape[1])


def _psnr_of_mse(mse: float) -> float:
    # the field's scale [-1, 1] has width 2: PSNR on [0, 1] of the same error
    return mse_to_psnr(mse, data_range=2.0)


def fit(
    field: Field,
    signal: Signal,
    *,
    steps: int = 500,
    lr: float | None = None,
    batch_size: int | None | str = "default",
    schedule: str | None = None,
    min_lr_ratio: float | None = None,
    holdout: float = 0.0,
    eval_every: int = 10,
    seed: int = 0,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    compile: bool = False,
    progress: bool = True,
) -> FitResult:
    """Fit ``field`` to a signal with Adam.

    Args:
        field: the field to train (in place), e.g. a :class:`~neuralfields.Siren`.
        signal: an image / signal ``(C, *spatial)`` in [0, 1] (the field sees it on [-1, 1]), or a pair
            ``(coords (N, d), values (N, C))`` taken as they are.
        steps: total number of updates (including those done before a resume).
        lr: Adam's learning rate (default ``DEFAULTS["lr"]``).
        batch_size: random samples per step, drawn without replacement within an epoch; ``None``
            for the full batch; ``"default"`` for ``DEFAULTS["batch_size"]``.
        schedule: ``"cosine"`` or ``"constant"`` learning rate.
        min_lr_ratio: final / initial learning rate of the cosine schedule.
        holdout: fraction of samples held out for validation (fixed by ``seed``), in [0, 1).
        eval_every: evaluate the held-out PSNR every this many steps (and at the end).
        seed: seed of the held-out set and the batch order.
        callbacks: called after each step with a :class:`StepInfo`; one returning ``True`` stops the fit.
        checkpoint: write a checkpoint file here at the end (and every ``checkpoint_every`` steps).
        checkpoint_every: steps between checkpoints.
        resume: a checkpoint path to resume from, or ``True`` to resume from ``checkpoint`` if it exists.
        compile: run the field's forward (and so its backward) through :func:`torch.compile`, with
            autograd on the whole batch: a one-off compilation (tens of seconds on a CPU). A
            :class:`~neuralfields.Siren` on the CPU measured faster without it (its hand-written
            step, ``benchmarks/RESULTS.md``); other fields may gain.
        progress: show a progress bar (only when stderr is a terminal).

    Returns:
        A :class:`FitResult` with the history and the final training / held-out PSNR.

    Note:
        Each step goes through :func:`~neuralfields.training.mse_backward`: on the CPU the batch is
        processed in chunks of :data:`~neuralfields.training.CPU_CHUNK_SIZE` points (same gradient,
        a fraction of the memory), and a :class:`~neuralfields.Siren` uses its hand-written step.
        On Linux with glibc, the first fit tells ``malloc`` to keep freed memory for reuse, so steps do
        not page-fault on fresh memory (3x faster full-batch steps on a 2-core machine, for a higher
        peak resident memory; ``benchmarks/RESULTS.md``). ``NEURALFIELDS_MALLOC=system`` turns it off.

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
    lr, batch_size, schedule, min_lr_ratio = _recipe(lr, batch_size, schedule, min_lr_ratio)
    _check_loop(steps, lr, eval_every)
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive int or None (full batch), got {batch_size!r}")
    if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every < 1):
        raise ConfigError(f"checkpoint_every must be a positive int or None, got {checkpoint_every!r}")

    param = next(field.parameters())
    device, dtype = param.device, param.dtype
    coords, targets, shape = _prepare(field, signal)
    coords, targets = coords.to(device, dtype), targets.to(device, dtype)
    n = coords.shape[0]
    held = holdout_mask((n,), holdout, seed=seed).to(device)
    train_idx = (~held).nonzero().squeeze(1)
    val_idx = held.nonzero().squeeze(1)
    if train_idx.numel() == 0:
        raise InvalidDataError("no samples are left for training after the hold-out")
    full_batch = batch_size is None or batch_size >= train_idx.numel()
    sampler = None if full_batch else RandomBatches(train_idx.numel(), batch_size, seed=seed)
    x_full, y_full = coords[train_idx], targets[train_idx]
    x_val, y_val = coords[val_idx], targets[val_idx]

    settings = {
        "steps": steps, "lr": lr, "batch_size": batch_size, "schedule": schedule,
        "min_lr_ratio": min_lr_ratio, "holdout": holdout, "seed": seed, "num_samples": n,
    }  # fmt: skip
    keep_freed_memory()  # no page faults on fresh memory every step (see neuralfields._allocator)
    optimizer = torch.optim.Adam(field.parameters(), lr=lr)
    history = History()
    start = 0
    resume_path = _resume_path(resume, checkpoint)
    if resume_path is not None:
        start, history = _restore(resume_path, field, optimizer, settings)

    forward = torch.compile(field) if compile else None  # None: the field's own (chunked) step
    callbacks = list(callbacks)
    stopped = False
    bar = progress_bar(progress, steps, "fit", initial=start)
    try:
        for step in range(start, steps):
            t0 = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, steps, lr, schedule, min_lr_ratio)
            if full_batch:
                x, y = x_full, y_full
            else:
                idx = sampler.batch(step)  # type: ignore[union-attr]
                idx = idx.to(device)
                x, y = x_full[idx], y_full[idx]
            loss_value = _update(optimizer, lambda: mse_backward(field, x, y, forward=forward), step, lr)
            done = step + 1
            _record(history, done, loss_value, time.perf_counter() - t0)
            val = None
            if val_idx.numel() and (done % eval_every == 0 or done == steps):
                val = _psnr_of_mse(_mse(field, x_val, y_val))
                history.val_step.append(done)
                history.val_psnr.append(val)
            if checkpoint is not None and checkpoint_every and done % checkpoint_every == 0 and done < steps:
                save_checkpoint(checkpoint, field, optimizer, done, settings, history)
            if bar is not None:
                bar.update(1)
                if done % 10 == 0 or done == steps:
                    bar.set_postfix(psnr=f"{history.psnr[-1]:.2f}", refresh=False)
            info = StepInfo(done, steps, field, loss_value, history.psnr[-1], val, history, shape)
            if any([bool(cb(info)) for cb in callbacks]):
                stopped = done < steps
                break
    finally:
        if bar is not None:
            bar.close()

    done = history.step[-1] if history.step else start
    if checkpoint is not None and steps > 0:
        save_checkpoint(checkpoint, field, optimizer, done, settings, history)
    final_val = _psnr_of_mse(_mse(field, x_val, y_val)) if val_idx.numel() else None
    return FitResult(
        field=field,
        history=history,
        psnr=_psnr_of_mse(_mse(field, x_full, y_full)),
        val_psnr=final_val,
        steps=done,
        stopped_early=stopped,
    )


def _resume_path(resume: bool | str | os.PathLike[str], checkpoint: Any) -> Path | None:
    if resume is False or resume is None:
        return None
    if resume is True:
        if checkpoint is None:
            raise ConfigError("resume=True needs checkpoint=PATH to resume from")
        path = Path(checkpoint)
        return path if path.exists() else None
    path = Path(resume)
    if not path.exists():
        raise CheckpointError(f"no checkpoint to resume from at {path}")
    return path


def _restore(path: Path, field: Field, optimizer: torch.optim.Optimizer, settings: dict[str, Any]) -> tuple[int, History]:
    ckpt = load_checkpoint(path)
    changed = {k: (ckpt.settings.get(k), v) for k, v in settings.items() if ckpt.settings.get(k) != v}
    if changed:
        diffs = ", ".join(f"{k}: {old!r} in the checkpoint, {new!r} now" for k, (old, new) in changed.items())
        raise CheckpointError(f"cannot resume from {path}: the fit settings differ ({diffs})")
    try:
        field.load_state_dict(ckpt.model_state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"the checkpoint {path} does not match this field: {exc}") from None
    try:
        optimizer.load_state_dict(ckpt.optimizer_state)
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"the optimiser state in {path} does not match this field: {exc}") from None
    if ckpt.rng_state is not None:
        torch.set_rng_state(ckpt.rng_state)
    return ckpt.step, ckpt.history
