"""Callbacks: code that runs after each step of a run. The protocol (:class:`Callback`, :class:`StepInfo`) is
the engine's; these are the ones the library ships."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from .._task import Callback, StepInfo
from ..errors import ConfigError
from ..fields.render import render

__all__ = ["StepInfo", "Callback", "Snapshots", "StopAtPSNR"]


class Snapshots(Callback):
    """Render the field every ``every`` steps (and at chosen steps).

    Args:
        every: render when ``step % every == 0``; ``None`` for only ``at``.
        at: extra steps to render at.
        shape: render shape; defaults to the signal's shape.

    Attributes:
        images: dict step -> rendered image ``(C, *shape)`` in [0, 1], on the CPU.

    Example:
        >>> import neuralfields as nf
        >>> snaps = nf.Snapshots(every=5, at=[1], shape=(12, 12))
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), img, steps=10, callbacks=[snaps], progress=False)
        >>> sorted(snaps.images), snaps.images[10].shape
        ([1, 5, 10], torch.Size([1, 12, 12]))
    """

    def __init__(self, every: int | None = None, at: Sequence[int] = (), shape: Sequence[int] | None = None) -> None:
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ConfigError(f"every must be a positive int or None, got {every!r}")
        self.every = every
        self.at = set(at)
        self.shape = tuple(shape) if shape is not None else None
        self.images: dict[int, Tensor] = {}

    def __call__(self, info: StepInfo) -> None:
        if (self.every and info.step % self.every == 0) or info.step in self.at:
            shape = self.shape or info.shape
            if shape is None:
                raise ConfigError("Snapshots needs a shape when fitting (coords, values) pairs")
            self.images[info.step] = render(info.field, shape).cpu()


class StopAtPSNR(Callback):
    """Stop once the training PSNR reaches ``target`` dB (or the held-out PSNR, with ``validation``).

    Example:
        >>> import neuralfields as nf
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=16, seed=0), img, steps=500, callbacks=[nf.StopAtPSNR(25.0)],
        ...              progress=False)
        >>> res.stopped_early, res.steps < 500, res.history.psnr[-1] >= 25.0
        (True, True, True)
    """

    def __init__(self, target: float, validation: bool = False) -> None:
        self.target = target
        self.validation = validation

    def __call__(self, info: StepInfo) -> bool:
        value: Any = info.val_psnr if self.validation else info.psnr
        return value is not None and value >= self.target
