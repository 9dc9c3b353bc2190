"""What a run of the engine records: the per-step :class:`History` (a low module, used by every trainer)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ._json import finite

__all__ = ["History"]


def _inf(values: list[Any]) -> list[Any]:
    """``None`` (JSON for a non-finite value) back to ``inf``, recursively through lists."""
    return [_inf(v) if isinstance(v, list) else (math.inf if v is None else v) for v in values]


@dataclass
class History:
    """Per-step record of a training run (every trainer and solver returns one).

    Attributes:
        step: step numbers (1-based: step ``k`` is the state after ``k`` updates).
        loss: training loss of each step (of the step's batch, before the update).
        psnr: training PSNR of each step on the [0, 1] scale, where the trainer reports one.
        time: wall time of each step in seconds (evaluations excluded).
        val_step: steps at which the held-out data was evaluated (0: before training).
        val_psnr: PSNR on the held-out data at those steps.
        metrics: other per-step scalars, name -> one value per entry of ``step``.
        val_metrics: other evaluation scalars, name -> one value per entry of ``val_step``.
        items: per-item series, name -> one list per entry of ``step`` with one value per item
            (e.g. ``"loss"`` and ``"psnr"`` of each of the ``B`` fields of :func:`~neuralfields.fit_many`).

    Example:
        >>> h = History(step=[1, 2, 3], loss=[0.5, 0.2, 0.1], psnr=[10.0, 20.0, 30.0], time=[0.1, 0.1, 0.2])
        >>> len(h), h.steps_to(20.0), h.steps_to(40.0), round(h.elapsed, 3)
        (3, 2, None, 0.4)
        >>> History.from_dict(h.as_dict()) == h
        True
        >>> two = History(step=[1, 2], loss=[0.2, 0.1], items={"loss": [[0.1, 0.3], [0.05, 0.15]]})
        >>> two.num_items, two.item(1).loss
        (2, [0.3, 0.15])
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_psnr: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    val_metrics: dict[str, list[float]] = field(default_factory=dict)
    items: dict[str, list[list[float]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def elapsed(self) -> float:
        """Total wall time of the recorded steps, in seconds."""
        return float(sum(self.time))

    @property
    def num_items(self) -> int:
        """Items with per-item series (0 when there are none)."""
        series = next(iter(self.items.values()), [])
        return len(series[0]) if series else 0

    def steps_to(self, psnr: float) -> int | None:
        """First step whose training PSNR reached ``psnr`` dB, or ``None``."""
        return next((s for s, p in zip(self.step, self.psnr) if p >= psnr), None)

    def item(self, index: int) -> History:
        """Item ``index``'s history: its per-item ``loss`` / ``psnr`` as the main series, and its
        share of each step's time (the step's time divided by the number of items).

        Raises:
            IndexError: no such item.
        """
        n = self.num_items
        if not -n <= index < n or n == 0:
            raise IndexError(f"item {index} out of range for a history of {n} items")
        loss = [row[index] for row in self.items.get("loss", [])]
        psnr = [row[index] for row in self.items.get("psnr", [])]
        return History(step=list(self.step), loss=loss, psnr=psnr, time=[t / n for t in self.time])

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON-serialisable; infinities become ``None``)."""
        return finite(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`as_dict` (also reads the flat dicts of earlier versions)."""
        out = cls()
        for key in ("step", "loss", "psnr", "time", "val_step", "val_psnr"):
            setattr(out, key, _inf(list(data.get(key, []))))
        for key in ("metrics", "val_metrics", "items"):
            setattr(out, key, {k: _inf(list(v)) for k, v in dict(data.get(key) or {}).items()})
        return out
