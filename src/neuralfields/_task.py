"""The pieces an engine adapter and a callback use: :class:`Task`, :class:`StepOutput`, :class:`StepInfo`,
:class:`Callback`, the learning-rate schedule (a low module, see :mod:`neuralfields._loop`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from ._dist import gather_rows, shard
from ._history import History
from ._metrics import psnr_from_mse

__all__ = ["SCHEDULES", "StepOutput", "StepInfo", "Callback", "Task", "lr_at", "psnr_of_mse"]

SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules of the engine."""


def lr_at(step: int, steps: int, lr: float, schedule: str, min_lr_ratio: float) -> float:
    """Learning rate of update ``step`` (0-based) of ``steps``.

    ``"constant"`` keeps ``lr``; ``"cosine"`` anneals from ``lr`` to ``lr * min_lr_ratio`` over the run.

    Example:
        >>> lr_at(0, 11, 1.0, "cosine", 0.0), lr_at(10, 11, 1.0, "cosine", 0.0)
        (1.0, 0.0)
    """
    if schedule == "constant" or steps <= 1:
        return lr
    t = step / (steps - 1)
    return lr * (min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t)))


def psnr_of_mse(mse: float, data_range: float = 2.0) -> float:
    """PSNR in dB of a mean squared error on a scale of width ``data_range`` (``inf`` for 0).

    The default 2 is the fields' [-1, 1] scale: the PSNR is the one on [0, 1] of the same error.
    """
    return psnr_from_mse(mse, data_range)


@dataclass
class StepOutput:
    """What a :class:`Task` step returns.

    Attributes:
        loss: the step's training loss (a float; the engine checks that it is finite).
        psnr: the step's training PSNR, if the task reports one.
        metrics: other scalars of the step, recorded in ``history.metrics``.
        items: per-item values ``(B,)`` (e.g. ``"loss"``), recorded in ``history.items`` and checked for
            finiteness.
        stop: the step found the run over: the engine makes no update for it and stops.
        share: for a data-parallel task (:attr:`Task.data_parallel`) the fraction of the step's batch this
            process computed; its loss, PSNR and metrics are of that part, its gradients those of its
            loss (the engine weights them by the share and sums them over the processes).
    """

    loss: float
    psnr: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    items: dict[str, Sequence[float]] = field(default_factory=dict)
    stop: bool = False
    share: float | None = None


@dataclass
class StepInfo:
    """What a callback sees after a step.

    Attributes:
        step: number of updates done so far (1-based).
        total: the number of steps the run was asked for.
        model: the model being trained (in its current state), or ``None``.
        loss: this step's training loss.
        psnr: this step's training PSNR (dB), or ``None``.
        val_psnr: held-out PSNR if it was evaluated at this step, else ``None``.
        history: the history so far.
        shape: the signal's spatial shape where the task has one, else ``None``.
        metrics: this step's other scalars.
        items: this step's per-item values.

    Example:
        Any callable is a callback; this one keeps every :class:`StepInfo` it is given:

        >>> import neuralfields as nf
        >>> seen = []
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), img, steps=3, callbacks=[seen.append], progress=False)
        >>> [(info.step, info.total, info.shape) for info in seen]
        [(1, 3, (8, 8)), (2, 3, (8, 8)), (3, 3, (8, 8))]
        >>> seen[-1].field is res.field, len(seen[-1].history)
        (True, 3)
    """

    step: int
    total: int
    model: Any
    loss: float
    psnr: float | None
    val_psnr: float | None
    history: History
    shape: tuple[int, ...] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    items: dict[str, Sequence[float]] = field(default_factory=dict)

    @property
    def field(self) -> Any:
        """The model being trained (the name fitting callbacks use)."""
        return self.model


class Callback:
    """Base class of callbacks. Any callable ``f(info) -> bool | None`` works as well.

    The engine calls the callback after every step with a :class:`StepInfo`; returning ``True`` stops the
    run after that step. :meth:`on_start` and :meth:`on_end` are called once, before the first and after
    the last step.

    Example:
        >>> import neuralfields as nf
        >>> class StopAt(nf.Callback):
        ...     def __init__(self, step):
        ...         self.step, self.seen, self.ended = step, [], None
        ...     def __call__(self, info):
        ...         self.seen.append(info.step)
        ...         return info.step >= self.step  # True stops the run after this step
        ...     def on_end(self, history):
        ...         self.ended = len(history)
        >>> cb = StopAt(3)
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), img, steps=10, callbacks=[cb], progress=False)
        >>> cb.seen, cb.ended, res.steps, res.stopped_early
        ([1, 2, 3], 3, 3, True)
    """

    def on_start(self, total: int, start: int) -> None:
        """Called before the first step (``start`` > 0 after a resume)."""

    def __call__(self, info: StepInfo) -> bool | None:
        """Called after each step; return ``True`` to stop the run."""
        return None

    def on_end(self, history: History) -> None:
        """Called once after the last step, with the whole history."""


class Task:
    """An adapter: what one trainer or solver supplies to the engine.

    Subclasses implement :meth:`step` and usually :meth:`parameters`; the rest has defaults.

    Attributes:
        model: the model being trained; its state is checkpointed (a registered model's spec goes into
            the checkpoint's metadata) and callbacks see it. ``None`` when there is no module.
        shape: the spatial shape of the signal callbacks may render at, or ``None``.
        data_parallel: under a ``torch.distributed`` process group of several processes, each step
            computes this rank's part of the batch (see :func:`neuralfields._dist.shard`) and returns its
            :attr:`StepOutput.share`; the engine sums the gradients over the ranks, keeps the
            parameters equal, and lets rank 0 alone write checkpoints and show progress. ``False`` (the
            default): every process runs the task on its own, as without a process group.
    """

    model: nn.Module | None = None
    shape: tuple[int, ...] | None = None
    data_parallel: bool = False

    def part(self, n: int) -> slice:
        """This process's part of a step's batch of ``n`` items: a contiguous slice under data-parallel
        training (:func:`neuralfields._dist.shard`), else all of it."""
        return shard(n) if self.data_parallel else slice(0, n)

    def gather(self, rows: Tensor) -> Tensor:
        """Every process's ``rows`` under data-parallel training, this process's own keeping their
        gradients (:func:`neuralfields._dist.gather_rows`); else ``rows`` itself."""
        return gather_rows(rows) if self.data_parallel else rows

    def parameters(self) -> Iterable[Tensor] | list[dict[str, Any]]:
        """The tensors (or param groups) the engine's optimiser updates; empty for a step that makes
        its own update."""
        return list(self.model.parameters()) if self.model is not None else []

    def step(self, step: int, lr: float) -> StepOutput:
        """One step (``step`` is 0-based, ``lr`` the scheduled learning rate): compute the loss and add
        its gradient to the parameters' ``.grad`` (the engine zeroed them), or make the update itself."""
        raise NotImplementedError(f"{type(self).__name__} must implement step(step, lr)")

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics of the current state (``"psnr"`` goes to ``history.val_psnr``)."""
        return {}

    def finish(self, done: int) -> None:
        """Called once after the last step (``done`` updates made), before the final checkpoint."""

    def state_dict(self) -> dict[str, Tensor]:
        """Tensors a checkpoint keeps: the model's state dict, plus task state under ``task/...`` names."""
        return dict(self.model.state_dict()) if self.model is not None else {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (from a checkpoint)."""
        if self.model is not None:
            model_state = {k: v for k, v in state.items() if not k.startswith("task/")}
            self.model.load_state_dict(model_state, strict=True)

    def extra_state(self) -> dict[str, Any]:
        """JSON-serialisable task state a checkpoint keeps."""
        return {}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""


