"""Log a run's metrics to TensorBoard: an engine callback (install ``neuralfields[tensorboard]``)."""

from __future__ import annotations

import math
import os
from typing import Any

from .._history import History
from .._task import Callback, StepInfo
from ..errors import OptionalDependencyError

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(Callback):
    """Write every step's loss, PSNR, other metrics and held-out PSNR to TensorBoard.

    Works with every trainer and solver (it is an ordinary engine callback). Per-item values
    (``info.items``, e.g. each field of :func:`~neuralfields.fit_many`) are logged as their mean, minimum
    and maximum.

    Args:
        log_dir: the run's folder (``tensorboard --logdir`` shows it); ignored when ``writer`` is given.
        writer: any object with ``add_scalar(tag, value, step)``, ``flush()`` and ``close()`` (default a
            :class:`torch.utils.tensorboard.SummaryWriter`).
        prefix: tag prefix, e.g. ``"fit/"``.
        every: log every this many steps (held-out evaluations are always logged).

    Example:
        >>> import neuralfields as nf
        >>> class Memory:
        ...     def __init__(self): self.rows = []
        ...     def add_scalar(self, tag, value, step): self.rows.append((tag, step))
        ...     def flush(self): pass
        ...     def close(self): pass
        >>> log = TensorBoardLogger(writer=Memory())
        >>> _ = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), nf.data.load_image("synthetic", size=8),
        ...            steps=2, callbacks=[log], progress=False)
        >>> log.writer.rows
        [('loss', 1), ('psnr', 1), ('loss', 2), ('psnr', 2)]
    """

    def __init__(self, log_dir: str | os.PathLike[str] | None = None, *, writer: Any = None, prefix: str = "", every: int = 1) -> None:
        if writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise OptionalDependencyError("tensorboard", "tensorboard", "TensorBoardLogger") from None
            writer = SummaryWriter(log_dir=None if log_dir is None else str(log_dir))
        self.writer, self.prefix, self.every = writer, prefix, max(1, int(every))

    def _scalar(self, tag: str, value: float | None, step: int) -> None:
        if value is not None and math.isfinite(float(value)):
            self.writer.add_scalar(self.prefix + tag, float(value), step)

    def __call__(self, info: StepInfo) -> None:
        if info.val_psnr is not None:
            self._scalar("val_psnr", info.val_psnr, info.step)
        if info.step % self.every:
            return
        self._scalar("loss", info.loss, info.step)
        self._scalar("psnr", info.psnr, info.step)
        for name, value in info.metrics.items():
            self._scalar(name, value, info.step)
        for name, values in info.items.items():
            vals = [float(v) for v in values if math.isfinite(float(v))]
            if vals:
                self._scalar(f"{name}/mean", sum(vals) / len(vals), info.step)
                self._scalar(f"{name}/min", min(vals), info.step)
                self._scalar(f"{name}/max", max(vals), info.step)

    def on_end(self, history: History) -> None:
        self.writer.flush()

    def close(self) -> None:
        """Close the writer."""
        self.writer.close()
