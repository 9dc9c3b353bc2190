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

Rules are a registry kind (``"stopping"``): subclass :class:`StoppingRule`, register it with
``@neuralfields.register("stopping", name)`` and pass its name (or ``{"name": ..., "config": {...}}``) as a
solver's ``stop=``. A rule with state that changes during a solve returns it from
:meth:`StoppingRule.state_dict`, so checkpointed solves resume bit-identically.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import Tensor

from .._checks import check_seed
from .._config import Configurable
from .._registry import available, create, get, register
from ..errors import ConfigError

__all__ = ["StoppingRule", "FixedBudget", "Discrepancy", "HoldoutStop", "stopping_rule", "STOPPING_RULES"]


class StoppingRule(Configurable):
    """Base class of the rules (registry kind ``"stopping"``): :meth:`start` once, then :meth:`observe`
    every iteration.

    Subclasses implement :meth:`observe` (and :meth:`start` to hold out measurements or set a level) and
    return their changing state from :meth:`state_dict`; :attr:`config` (what the registry rebuilds the
    rule from) is captured from the constructor's arguments.

    Example:
        A rule that stops every image at a fixed iteration:

        >>> class StopAt(StoppingRule):
        ...     name = "stop-at"
        ...     def __init__(self, iteration=5):
        ...         self.iteration = iteration
        ...     def observe(self, iteration, residual, heldout):
        ...         keep = torch.ones_like(residual, dtype=torch.bool)
        ...         return keep, keep & (iteration >= self.iteration)
        >>> StopAt(3)
        StopAt(iteration=3)
        >>> from neuralfields.inverse import Denoise, solve
        >>> y = Denoise().measure(torch.full((2, 1, 8, 8), 0.5), sigma=0.1, seed=0)
        >>> sol = solve(y, "denoise", sigma=0.1, steps=20, stop=StopAt(3), progress=False)
        >>> sol.stopped_at.tolist(), sol.stopped.tolist(), sol.iterations
        ([3, 3], [True, True], 3)
    """

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
        """Decide about iterate ``iteration`` (0 is the start).

        Args:
            iteration: the iterate's index (updates made before it).
            residual: per-image squared residual on the used measurements ``(B,)``.
            heldout: per-image squared residual on the held-out measurements ``(B,)`` (zeros if none).

        Returns:
            ``(keep, stop)``, two bool tensors ``(B,)``.
        """
        raise NotImplementedError

    def state_dict(self) -> dict[str, Tensor]:
        """The state :meth:`observe` changes (tensors), for checkpoints; empty for a stateless rule."""
        return {}

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (after :meth:`start`).

        Raises:
            KeyError: ``state`` lacks a tensor of the rule's state.
        """
        missing = sorted(set(self.state_dict()) - set(state))
        if missing:
            raise KeyError(f"the {self.name!r} stopping rule's state lacks {missing}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"


@register("stopping", "budget")
class FixedBudget(StoppingRule):
    """Run the whole budget and keep the last iterate.

    Example:
        >>> keep, stop = FixedBudget().observe(0, torch.tensor([1.0, 2.0]), torch.zeros(2))
        >>> keep.tolist(), stop.tolist(), stopping_rule(None)
        ([True, True], [False, False], FixedBudget())
    """

    name = "budget"

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        true = torch.ones_like(residual, dtype=torch.bool)
        return true, ~true


@register("stopping", "discrepancy")
class Discrepancy(StoppingRule):
    """Stop at the first iterate with ``||A x - y||^2 <= tau * m * sigma^2``.

    Args:
        tau: safety factor (>= 1 is the classical choice; with a prior that cannot fit the data exactly a
            value near 1 may never be reached, and the budget decides).

    Example:
        >>> rule = Discrepancy(tau=1.0)
        >>> y = torch.zeros(2, 1, 4, 4)
        >>> weights = rule.start(y, torch.ones_like(y, dtype=torch.bool), sigma=0.5)  # level 1 * 16 * 0.5**2 = 4
        >>> rule.observe(0, torch.tensor([5.0, 3.0]), torch.zeros(2))[1].tolist()  # stop: the second image
        [False, True]
    """

    name = "discrepancy"

    def __init__(self, tau: float = 1.0) -> None:
        if not isinstance(tau, (int, float)) or not tau > 0:
            raise ConfigError(f"tau must be > 0, got {tau!r}")
        self.tau = float(tau)

    def start(self, y: Tensor, informative: Tensor, sigma: float) -> Tensor:
        # every value of y carries noise of variance sigma^2 (also where it carries no signal)
        self._level = self.tau * y[0].numel() * sigma**2
        return torch.ones_like(y)

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        stop = residual <= self._level
        return torch.ones_like(stop), stop


@register("stopping", "holdout")
class HoldoutStop(StoppingRule):
    """Hold out ``fraction`` of the informative measurements; stop after ``patience`` iterations without
    a new best held-out error, keeping the best iterate.

    Args:
        fraction: held-out fraction of the informative measurements, in (0, 1).
        patience: iterations without improvement before stopping.
        min_delta: relative improvement that counts as one.
        seed: seed of the held-out set.

    Example:
        >>> rule = HoldoutStop(fraction=0.25, patience=2)
        >>> y = torch.zeros(1, 1, 4, 4)
        >>> weights = rule.start(y, torch.ones_like(y, dtype=torch.bool), sigma=0.1)
        >>> int((weights == 0).sum())  # 4 of the 16 values are held out of the data term
        4
        >>> errors = [3.0, 2.0, 2.5, 2.4]  # held-out errors: (keep, stop) per iteration, patience 2
        >>> [tuple(t.item() for t in rule.observe(i, torch.zeros(1), torch.tensor([e]))) for i, e in enumerate(errors)]
        [(True, False), (True, False), (False, False), (False, True)]
    """

    name = "holdout"

    def __init__(self, fraction: float = 0.1, patience: int = 200, min_delta: float = 1e-4, seed: int = 0) -> None:
        if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ConfigError(f"fraction must be in (0, 1), got {fraction!r}")
        if not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be a positive int, got {patience!r}")
        self.fraction, self.patience, self.min_delta, self.seed = float(fraction), patience, float(min_delta), check_seed(seed)

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

    def state_dict(self) -> dict[str, Tensor]:
        return {"best": self._best.clone(), "since": self._since.clone()} if hasattr(self, "_best") else {}

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        super().load_state_dict(state)
        if hasattr(self, "_best"):
            self._best = state["best"].to(self._best).clone()
            self._since = state["since"].to(self._since).clone()


class _Rules(Mapping[str, type]):
    """The registered rules by name (read-only; plugins' rules included)."""

    def __getitem__(self, name: str) -> type:
        if name not in available("stopping"):
            raise KeyError(name)
        return get("stopping", name)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        return iter(available("stopping"))

    def __len__(self) -> int:
        return len(available("stopping"))

    def __repr__(self) -> str:
        return f"STOPPING_RULES({', '.join(self)})"


STOPPING_RULES: Mapping[str, type] = _Rules()
"""The rules by name: a read-only view of the registry kind ``"stopping"``."""


def stopping_rule(rule: str | Mapping[str, Any] | StoppingRule | None) -> StoppingRule:
    """A rule from its registered name (``"budget"``, ``"discrepancy"``, ``"holdout"`` or a plugin's), a spec
    ``{"name": ..., "config": {...}}``, or itself; ``None`` is the budget.

    Raises:
        ConfigError: an unknown name (the message lists the registered ones), or not a rule.

    Example:
        >>> stopping_rule({"name": "discrepancy", "config": {"tau": 1.5}})
        Discrepancy(tau=1.5)
    """
    if rule is None:
        return FixedBudget()
    if isinstance(rule, StoppingRule):
        return rule
    if isinstance(rule, str):
        name, config = rule, {}
    elif isinstance(rule, Mapping) and isinstance(rule.get("name"), str):
        name, config = rule["name"], dict(rule.get("config") or {})
    else:
        raise ConfigError(f"a stopping rule is a name, a {{'name', 'config'}} spec or a StoppingRule, got {rule!r}")
    names = available("stopping")
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown stopping rule {name!r}.{hint} Available: {', '.join(map(repr, names))}, "
                          f"or a StoppingRule; plugins add more under the registry kind 'stopping'.")  # fmt: skip
    built = create("stopping", name, **config)
    if not isinstance(built, StoppingRule):
        raise ConfigError(f"the stopping rule {name!r} built a {type(built).__name__}, not a StoppingRule")
    return built
