"""Early-stopping rules of the inverse-problem solvers, each decided per image of the batch.

A rule sees every iteration's per-image squared residual ``||A x - y||^2`` and says, per image, whether
the current iterate is the one to keep (``keep``) and whether to stop (``stop``). Stopped images keep
their iterate while the others go on; the solve ends when all have stopped or the budget is spent.

- :class:`FixedBudget`: never stops early; keeps the last iterate.
- :class:`Discrepancy`: Morozov's discrepancy principle — stop once the residual is down to the noise
  level, ``||A x - y||^2 <= tau * m * sigma^2`` (``m`` measured values): fitting further fits the noise.
- :class:`HoldoutStop`: hold out a fraction of the measured values from the data term and stop when
  their error has not improved for ``patience`` iterations, keeping the best iterate. The held-out error
  estimates the error on values the solver never saw, so it rises once the solver fits the noise; unlike
  the discrepancy principle it needs no trust in ``sigma`` and works without an explicit prior
  (field-reparameterised, deep-image-prior-style solves).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError

__all__ = ["StoppingRule", "FixedBudget", "Discrepancy", "HoldoutStop", "stopping_rule", "STOPPING_RULES"]


class StoppingRule:
    """Base class: :meth:`start` once, then :meth:`observe` after every iteration."""

    name = "rule"

    def start(self, y: Tensor, informative: Tensor, sigma: float) -> Tensor:
        """Prepare for measurements ``y`` ``(B, ...)``.

        Args:
            y: the measurements.
            informative: bool like ``y``, True where a measurement depends on the image.
            sigma: the noise level.

        Returns:
            The weights of the data term ``(like y)``: 1 where a measurement is used, 0 where held out.
        """
        return torch.ones_like(y)

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        """Decide after ``iteration`` (1-based).

        Args:
            residual: per-image squared residual on the used measurements ``(B,)``.
            heldout: per-image squared residual on the held-out measurements ``(B,)`` (zeros if none).

        Returns:
            ``(keep, stop)``, two bool tensors ``(B,)``.
        """
        raise NotImplementedError

    @property
    def config(self) -> dict[str, Any]:
        """The rule's settings."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"


class FixedBudget(StoppingRule):
    """Run the whole budget and keep the last iterate."""

    name = "budget"

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        true = torch.ones_like(residual, dtype=torch.bool)
        return true, ~true


class Discrepancy(StoppingRule):
    """Stop at the first iterate with ``||A x - y||^2 <= tau * m * sigma^2``.

    Args:
        tau: safety factor (>= 1 is the classical choice; with a prior that cannot fit the data exactly a
            value near 1 may never be reached, and the budget decides).
    """

    name = "discrepancy"

    def __init__(self, tau: float = 1.0) -> None:
        if not isinstance(tau, (int, float)) or not tau > 0:
            raise ConfigError(f"tau must be > 0, got {tau!r}")
        self.tau = float(tau)

    @property
    def config(self) -> dict[str, Any]:
        return {"tau": self.tau}

    def start(self, y: Tensor, informative: Tensor, sigma: float) -> Tensor:
        # every value of y carries noise of variance sigma^2 (also where it carries no signal)
        self._level = self.tau * y[0].numel() * sigma**2
        return torch.ones_like(y)

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        stop = residual <= self._level
        return torch.ones_like(stop), stop


class HoldoutStop(StoppingRule):
    """Hold out ``fraction`` of the informative measurements; stop after ``patience`` iterations without
    a new best held-out error, keeping the best iterate.

    Args:
        fraction: held-out fraction of the informative measurements, in (0, 1).
        patience: iterations without improvement before stopping.
        min_delta: relative improvement that counts as one.
        seed: seed of the held-out set.
    """

    name = "holdout"

    def __init__(self, fraction: float = 0.1, patience: int = 200, min_delta: float = 1e-4, seed: int = 0) -> None:
        if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ConfigError(f"fraction must be in (0, 1), got {fraction!r}")
        if not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be a positive int, got {patience!r}")
        self.fraction, self.patience, self.min_delta, self.seed = float(fraction), patience, float(min_delta), seed

    @property
    def config(self) -> dict[str, Any]:
        return {"fraction": self.fraction, "patience": self.patience, "min_delta": self.min_delta, "seed": self.seed}

    def start(self, y: Tensor, informative: Tensor, sigma: float) -> Tensor:
        held = self._held_out(informative.cpu()).to(y.device)
        self._best = torch.full((y.shape[0],), float("inf"), dtype=torch.float64, device=y.device)
        self._since = torch.zeros(y.shape[0], dtype=torch.long, device=y.device)
        return (~held).to(y.dtype)

    def _held_out(self, informative: Tensor) -> Tensor:
        """Per image, ``max(1, round(fraction * n))`` of its ``n`` informative values, drawn from ``seed``."""
        flat = informative.flatten(1)
        n = flat.sum(1)
        if bool((n < 2).any()):
            raise ConfigError("an image has fewer than 2 measured values: nothing can be held out")
        k = (n.double() * self.fraction).round().clamp(min=1).long()
        gen = torch.Generator().manual_seed(self.seed)
        scores = torch.rand(flat.shape, generator=gen).masked_fill(~flat, float("inf"))
        ranks = scores.argsort(1).argsort(1)
        return (ranks < k[:, None]).reshape(informative.shape)

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        h = heldout.double()
        better = h < self._best * (1.0 - self.min_delta)
        self._best = torch.where(better, h, self._best)
        self._since = torch.where(better, torch.zeros_like(self._since), self._since + 1)
        return better, self._since >= self.patience


STOPPING_RULES = {"budget": FixedBudget, "discrepancy": Discrepancy, "holdout": HoldoutStop}
"""Rules by name."""


def stopping_rule(rule: str | StoppingRule | None) -> StoppingRule:
    """A rule from its name (``"budget"``, ``"discrepancy"``, ``"holdout"``; ``None`` is the budget) or itself."""
    if rule is None:
        return FixedBudget()
    if isinstance(rule, StoppingRule):
        return rule
    if isinstance(rule, str) and rule in STOPPING_RULES:
        return STOPPING_RULES[rule]()
    raise ConfigError(f"unknown stopping rule {rule!r}; use one of {sorted(STOPPING_RULES)} or a StoppingRule")
