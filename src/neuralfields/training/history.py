"""What a fit records: per-step history and the result."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .._json import finite
from ..fields.base import Field

__all__ = ["History", "FitResult"]


@dataclass
class History:
    """Per-step record of a fit.

    Attributes:
        step: step numbers (1-based: step ``k`` is the state after ``k`` updates).
        loss: training loss of each step (mean squared error on the field's [-1, 1] scale).
        psnr: training PSNR of each step on the [0, 1] scale (of the step's batch, before the update).
        time: wall time of each step in seconds.
        val_step: steps at which the held-out pixels were evaluated.
        val_psnr: PSNR on the held-out pixels at those steps.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_psnr: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def elapsed(self) -> float:
        """Total wall time of the recorded steps, in seconds."""
        return float(sum(self.time))

    def steps_to(self, psnr: float) -> int | None:
        """First step whose training PSNR reached ``psnr`` dB, or ``None``."""
        return next((s for s, p in zip(self.step, self.psnr) if p >= psnr), None)

    def as_dict(self) -> dict[str, list[Any]]:
        """Plain lists (JSON-serialisable; infinities become ``None``)."""
        return finite(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, list[Any]]) -> History:
        """Inverse of :meth:`as_dict`."""
        return cls(**{k: [math.inf if v is None else v for v in data.get(k, [])] for k in cls.__dataclass_fields__})


@dataclass
class FitResult:
    """The outcome of :func:`~neuralfields.fit`.

    Attributes:
        field: the fitted field (the same object that was passed in).
        history: per-step history.
        psnr: PSNR on all training samples after the last step ([0, 1] scale).
        val_psnr: PSNR on the held-out samples after the last step, or ``None`` without held-out samples.
        steps: number of steps done in total (including those before a resume).
        stopped_early: a callback stopped the fit before ``steps``.
    """

    field: Field
    history: History
    psnr: float
    val_psnr: float | None
    steps: int
    stopped_early: bool = False

    @property
    def seconds(self) -> float:
        """Wall time of all steps."""
        return self.history.elapsed

    def summary(self) -> dict[str, Any]:
        """Final figures as a JSON-serialisable dict."""
        return finite({
            "steps": self.steps,
            "psnr": self.psnr,
            "val_psnr": self.val_psnr,
            "seconds": self.seconds,
            "seconds_per_step": self.seconds / max(len(self.history), 1),
            "stopped_early": self.stopped_early,
        })  # fmt: skip
