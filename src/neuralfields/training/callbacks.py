"""Callbacks: code that runs after each step of a run. The protocol (:class:`Callback`, :class:`StepInfo`) is
the engine's; these are the ones the library ships."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from torch import Tensor

from .._task import Callback, StepInfo
from ..errors import ConfigError
from ..fields.render import render

__all__ = ["StepInfo", "Callback", "Snapshots", "StopAtPSNR", "StopAtPlateau"]


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


class StopAtPlateau(Callback):
    """Stop once the training loss has reached a plateau: every ``window`` steps (after at least
    ``2 * window``), the median loss of the last ``window`` steps is compared with the median of the
    ``window`` before it, and the run stops when it fell by less than ``min_drop`` (relative).

    The rule is :func:`~neuralfields.training.health.training_health`'s undertrained check with a fixed
    window instead of a tenth of the run: a run it stopped after ten windows or fewer is not flagged as
    undertrained (a shorter tenth falls less); after more, the last tenth may still show a fall of more than
    2%. A callback object starts afresh when it sees a run begin again (a step not after its last one).

    Args:
        window: steps per compared window (>= 2).
        min_drop: the relative fall below which the loss counts as flat (default 0.02).
        min_steps: never stop before this step of the run (an early flat stretch, e.g. an autoencoder whose
            latent starts saturated, is often followed by a fall).

    Attributes:
        stopped_at: the step at which it stopped the run, or ``None``.

    Example:
        >>> import neuralfields as nf
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> plateau = nf.training.StopAtPlateau(window=50)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=16, seed=0), img, steps=5000, callbacks=[plateau], progress=False)
        >>> res.stopped_early, plateau.stopped_at == res.steps < 5000
        (True, True)
    """

    def __init__(self, window: int = 100, min_drop: float = 0.02, min_steps: int = 0) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise ConfigError(f"window must be an int >= 2, got {window!r}")
        if not isinstance(min_drop, (int, float)) or not 0 <= min_drop < 1:
            raise ConfigError(f"min_drop must be in [0, 1), got {min_drop!r}")
        self.window, self.min_drop, self.min_steps = window, float(min_drop), int(min_steps)
        self.losses: list[float] = []
        self.stopped_at: int | None = None
        self._last_step = 0

    def __call__(self, info: StepInfo) -> bool:
        if info.step <= self._last_step:  # a new run (or a resumed one) with the same callback
            self.losses, self.stopped_at = [], None
        self._last_step = info.step
        self.losses.append(float(info.loss))
        w = self.window
        if len(self.losses) < 2 * w or info.step < self.min_steps or len(self.losses) % w:
            return False
        before, last = statistics.median(self.losses[-2 * w : -w]), statistics.median(self.losses[-w:])
        if before and (before - last) / abs(before) < self.min_drop:
            self.stopped_at = info.step
            return True
        return False
