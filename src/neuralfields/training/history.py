"""What a fit records: the per-step :class:`~neuralfields.History` (shared by every trainer) and the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._history import History
from .._json import finite
from ..fields.base import Field

__all__ = ["History", "FitResult", "TrainResult"]


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

    Example:
        >>> import neuralfields as nf
        >>> img = nf.data.load_image("synthetic", size=16)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=16, seed=0), img, steps=20, holdout=0.1, progress=False)
        >>> res.steps, len(res.history), res.val_psnr is not None, res.psnr > res.history.psnr[0]
        (20, 20, True, True)
        >>> sorted(res.summary())
        ['psnr', 'seconds', 'seconds_per_step', 'steps', 'stopped_early', 'val_psnr']
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


@dataclass
class TrainResult:
    """What a trainer of a model returns: the engine's history and whether a callback stopped it early
    (the base of :class:`~neuralfields.training.HyperFitResult` and
    :class:`~neuralfields.training.AutoEncoderFitResult`).

    Attributes:
        history: the run's :class:`~neuralfields.History`.
        stopped_early: a callback stopped the run before its ``steps``.

    Example:
        >>> TrainResult(History(step=[1, 2, 3], loss=[0.3, 0.2, 0.1])).steps, TrainResult(History()).steps
        (3, 0)
        >>> from neuralfields.training import AutoEncoderFitResult, HyperFitResult
        >>> issubclass(HyperFitResult, TrainResult), issubclass(AutoEncoderFitResult, TrainResult)
        (True, True)
    """

    history: History
    stopped_early: bool = False

    @property
    def steps(self) -> int:
        """Updates done."""
        return self.history.step[-1] if self.history.step else 0
