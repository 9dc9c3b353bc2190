"""The one optimisation engine: every trainer and solver of neuralfields is an adapter on :func:`run`.

The engine owns the loop: the optimiser and its update (or none, for a step that makes its own update,
as fixed-point solvers do), the learning-rate schedule, the evaluation cadence, callbacks and stopping,
checkpoints and resume, timing, the :class:`~neuralfields.History`, the progress bar, and one error
for a loss that stops being finite (:class:`~neuralfields.errors.NonFiniteLossError`, naming the step).

An adapter is a :class:`Task`: it supplies its parameters, one step (forward pass and gradients, or its
own update), and optionally an evaluation, extra checkpoint state and the fields callbacks see. It knows
no loop. This module is low: it knows no field, prior or solver, so ``training``, ``priors`` and
``inverse`` may all use it.

Example:
    >>> import torch
    >>> w = torch.zeros(3, requires_grad=True)
    >>> class Quadratic(Task):
    ...     def parameters(self):
    ...         return [w]
    ...     def step(self, step, lr):
    ...         loss = ((w - 1.0) ** 2).sum()
    ...         loss.backward()
    ...         return StepOutput(float(loss.detach()))
    >>> result = run(Quadratic(), steps=200, lr=0.1, progress=False)
    >>> result.steps, round(result.history.loss[-1], 4), result.stopped_early
    (200, 0.0, False)
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ._allocator import freed_memory_kept
from ._checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ._data_parallel import check_same_run, reduce_step, sync_parameters
from ._dist import any_rank, barrier, broadcast_from_main, is_main, rank_and_world
from ._history import History
from ._progress import progress_bar
from ._task import SCHEDULES, Callback, StepInfo, StepOutput, Task, lr_at, psnr_of_mse
from .errors import CheckpointError, ConfigError, NonFiniteLossError

__all__ = [
    "SCHEDULES",
    "StepOutput",
    "StepInfo",
    "Callback",
    "Task",
    "RunResult",
    "run",
    "lr_at",
    "psnr_of_mse",
]

@dataclass
class RunResult:
    """What :func:`run` returns: the history, the steps done and whether a callback or the task stopped
    the run before ``steps``."""

    history: History
    steps: int
    stopped_early: bool


OptimizerFactory = Callable[[Any, float], torch.optim.Optimizer]


def _check_settings(steps: Any, lr: Any, schedule: Any, min_lr_ratio: Any, eval_every: Any, checkpoint_every: Any) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ConfigError(f"steps must be a non-negative int, got {steps!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or not math.isfinite(lr):
        raise ConfigError(f"lr must be a positive number, got {lr!r}")
    if schedule not in SCHEDULES:
        raise ConfigError(f"unknown schedule {schedule!r}; use one of {SCHEDULES}")
    if not isinstance(min_lr_ratio, (int, float)) or not 0.0 <= min_lr_ratio <= 1.0:
        raise ConfigError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio!r}")
    for name, value in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a positive int or None, got {value!r}")


def _optimizer(task: Task, optimizer: str | OptimizerFactory, lr: float) -> torch.optim.Optimizer | None:
    params = list(task.parameters())
    if not params:
        return None
    if callable(optimizer):
        return optimizer(params, lr)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr)
    raise ConfigError(f"unknown optimizer {optimizer!r}; use 'adam', 'sgd' or a callable (params, lr) -> Optimizer")


def resume_path(resume: bool | str | os.PathLike[str] | None, checkpoint: str | os.PathLike[str] | None) -> Path | None:
    """The checkpoint to resume from: ``resume=True`` means ``checkpoint`` if it exists, a path must exist."""
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


def _load(resume: bool | str | os.PathLike[str], checkpoint: str | os.PathLike[str] | None, shared: bool) -> tuple[Path | None, Checkpoint | None]:
    """The checkpoint to resume from and its contents; ``shared``: rank 0 reads it and sends it to every
    rank (the other machines need not see the file), an error there is raised on every rank."""
    if not shared:
        path = resume_path(resume, checkpoint)
        return path, None if path is None else load_checkpoint(path)
    payload: tuple[Any, ...] = (None, None, None)
    failure: Exception | None = None
    if is_main():
        try:
            path = resume_path(resume, checkpoint)
            payload = (path, None if path is None else load_checkpoint(path), None)
        except Exception as exc:  # every rank must hear of it, or the others wait for ever
            failure = exc
            payload = (None, None, f"{type(exc).__name__}: {exc}")
    path, ckpt, error = broadcast_from_main(payload)
    if failure is not None:
        raise failure
    if error is not None:
        raise CheckpointError(f"rank 0 could not read the checkpoint to resume from: {error}")
    return path, ckpt


def _restore(path: Path, ckpt: Checkpoint, task: Task, optimizer: torch.optim.Optimizer | None, settings: dict[str, Any]) -> Checkpoint:
    settings = json.loads(json.dumps(settings))  # as the checkpoint stores them (tuples become lists)
    # a setting the checkpoint lacks (written by an earlier version) is taken as unchanged
    changed = {k: (ckpt.settings[k], v) for k, v in settings.items() if k in ckpt.settings and ckpt.settings[k] != v}
    if changed:
        diffs = ", ".join(f"{k}: {old!r} in the checkpoint, {new!r} now" for k, (old, new) in changed.items())
        raise CheckpointError(f"cannot resume from {path}: the settings differ ({diffs})")
    if not 0 <= ckpt.step <= settings.get("steps", ckpt.step):
        raise CheckpointError(f"cannot resume from {path}: it was written at step {ckpt.step}, outside 0..{settings.get('steps')}")
    if len(ckpt.history) != ckpt.step:
        raise CheckpointError(f"{path} is corrupt: its history has {len(ckpt.history)} steps but it was written at step {ckpt.step}")
    try:
        task.load_state_dict(ckpt.state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"the checkpoint {path} does not match this run: {exc}") from None
    if optimizer is not None:
        if not ckpt.optimizer_state or (ckpt.step > 0 and not ckpt.optimizer_state["state"]):
            raise CheckpointError(f"{path} has no optimiser state; it cannot resume this run bit-identically")
        try:
            optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"the optimiser state in {path} does not match this run: {exc}") from None
    task.load_extra_state(ckpt.extra)
    return ckpt


def _check_finite(out: StepOutput, done: int, desc: str, lr: float) -> None:
    values = [out.loss, *(v for series in out.items.values() for v in series)]
    bad = next((v for v in values if not math.isfinite(v)), None)
    if bad is not None:
        raise NonFiniteLossError(
            f"the {desc} loss became {bad} at step {done}; the update of that step was not made. "
            f"Lower the learning rate (lr={lr:g}) or check the data for NaN / infinite values.",
            step=done,
            value=bad,
        )


def _record(history: History, done: int, out: StepOutput, elapsed: float) -> None:
    history.step.append(done)
    history.loss.append(out.loss)
    if out.psnr is not None:
        history.psnr.append(out.psnr)
    history.time.append(elapsed)
    for name, value in out.metrics.items():
        history.metrics.setdefault(name, []).append(float(value))
    for name, series in out.items.items():
        history.items.setdefault(name, []).append([float(v) for v in series])


def _evaluate(task: Task, history: History, done: int) -> float | None:
    metrics = task.evaluate()
    if not metrics:
        return None
    history.val_step.append(done)
    val = metrics.get("psnr")
    if val is not None:
        history.val_psnr.append(float(val))
    for name, value in metrics.items():
        if name != "psnr":
            history.val_metrics.setdefault(name, []).append(float(value))
    return None if val is None else float(val)


def run(
    task: Task,
    *,
    steps: int,
    lr: float,
    schedule: str = "constant",
    min_lr_ratio: float = 0.01,
    optimizer: str | OptimizerFactory = "adam",
    eval_every: int | None = None,
    eval_at_start: bool = False,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    settings: dict[str, Any] | None = None,
    progress: bool = True,
    desc: str = "train",
    unit: str = "step",
) -> RunResult:
    """Run ``task`` for ``steps`` updates.

    Each step: set the scheduled learning rate, zero the gradients, ``task.step`` (loss and gradients),
    check that the loss is finite, update the parameters, record the history, evaluate (every
    ``eval_every`` steps and after the last), write a checkpoint (every ``checkpoint_every`` steps and at
    the end), call the callbacks (one returning ``True`` stops the run), advance the progress bar.

    A task with ``data_parallel = True`` under a process group of several processes trains
    data-parallel (:mod:`neuralfields._data_parallel`): rank 0's parameters first, then after each step
    the processes' gradients summed by their shares of the batch and their reports combined; a callback
    stopping on any process stops all; rank 0 alone writes checkpoints and shows progress, and reads the
    checkpoint to resume from for all.

    Args:
        task: the adapter.
        steps: total number of updates (including those done before a resume).
        lr: the optimiser's (initial) learning rate.
        schedule: ``"constant"`` or ``"cosine"`` (anneals to ``lr * min_lr_ratio``).
        min_lr_ratio: final / initial learning rate of the cosine schedule.
        optimizer: ``"adam"``, ``"sgd"`` or a callable ``(params, lr) -> Optimizer``; unused when the task
            has no parameters (its step makes its own update).
        eval_every: steps between evaluations (and after the last step); ``None`` only after the last.
        eval_at_start: also evaluate before the first step (recorded as step 0).
        callbacks: called after each step with a :class:`StepInfo`.
        checkpoint: write a checkpoint file here at the end (and every ``checkpoint_every`` steps).
        checkpoint_every: steps between checkpoints.
        resume: a checkpoint to resume from, or ``True`` to resume from ``checkpoint`` if it exists. The
            run continues bit-identically on the CPU.
        settings: what must not change between a checkpoint and its resume (``steps``, ``lr``, the
            schedule and these are checked).
        progress: show a progress bar (only when stderr is a terminal).
        desc: the run's name in the progress bar and in errors.
        unit: the progress bar's unit.

    Returns:
        A :class:`RunResult`.

    Raises:
        NonFiniteLossError: a step's loss (or a per-item loss) was NaN or infinite.
        CheckpointError: the checkpoint does not fit this run (other settings, model or state).
    """
    _check_settings(steps, lr, schedule, min_lr_ratio, eval_every, checkpoint_every)
    callbacks = list(callbacks)
    all_settings = {"steps": steps, "lr": lr, "schedule": schedule, "min_lr_ratio": min_lr_ratio, **(settings or {})}
    opt = _optimizer(task, optimizer, lr)
    params = [p for group in opt.param_groups for p in group["params"]] if opt is not None else []
    parallel = bool(task.data_parallel) and rank_and_world()[1] > 1
    if parallel:
        if opt is None:
            raise ConfigError(f"{desc}: a data-parallel task needs parameters for the engine's optimiser")
        check_same_run(all_settings, params, desc)
        sync_parameters(params, task.model)
    history = History()
    start = 0
    path, loaded = _load(resume, checkpoint, parallel)
    if path is not None and loaded is not None:
        ckpt = _restore(path, loaded, task, opt, all_settings)
        start, history = ckpt.step, ckpt.history
    elif eval_at_start:
        _evaluate(task, history, 0)

    def save(done: int) -> None:
        if not parallel or is_main():  # the ranks' states are equal: rank 0 writes
            save_checkpoint(
                checkpoint, task.model, opt, done, all_settings, history,  # type: ignore[arg-type]
                state=task.state_dict(), extra=task.extra_state(),
            )  # fmt: skip

    for cb in callbacks:
        getattr(cb, "on_start", lambda total, first: None)(steps, start)
    stopped = False
    done = start
    bar = progress_bar(progress and (not parallel or is_main()), steps, desc, initial=start, unit=unit)
    with freed_memory_kept():
        try:
            for step in range(start, steps):
                t0 = time.perf_counter()
                rate = lr_at(step, steps, lr, schedule, min_lr_ratio)
                if opt is not None:
                    for group in opt.param_groups:
                        group["lr"] = rate
                    opt.zero_grad(set_to_none=True)
                out = task.step(step, rate)
                if parallel:
                    out = reduce_step(params, out, desc)
                if out.stop:
                    stopped = True
                    break
                _check_finite(out, step + 1, desc, lr)
                if opt is not None:
                    opt.step()
                done = step + 1
                _record(history, done, out, time.perf_counter() - t0)
                val = None
                if (eval_every and done % eval_every == 0) or done == steps:
                    val = _evaluate(task, history, done)
                if checkpoint is not None and checkpoint_every and done % checkpoint_every == 0 and done < steps:
                    save(done)
                if bar is not None:
                    bar.update(1)
                    if done % 10 == 0 or done == steps:
                        shown = out.psnr if out.psnr is not None else out.loss
                        bar.set_postfix({"psnr" if out.psnr is not None else "loss": f"{shown:.4g}"}, refresh=False)
                info = StepInfo(done, steps, task.model, out.loss, out.psnr, val, history, task.shape, out.metrics, out.items)
                halt = any([bool(cb(info)) for cb in callbacks])
                if any_rank(halt) if parallel else halt:
                    stopped = done < steps
                    break
        finally:
            if bar is not None:
                bar.close()
        task.finish(done)
        if checkpoint is not None and steps > 0:
            save(done)
        if parallel:
            barrier()  # every rank returns after rank 0 wrote
    for cb in callbacks:
        getattr(cb, "on_end", lambda h: None)(history)
    return RunResult(history, done, stopped)
