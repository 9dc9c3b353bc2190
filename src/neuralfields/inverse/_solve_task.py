"""The engine adapter of the solvers (:class:`SolveTask`): one step renders an iterate, scores it, lets
the stopping rule observe it and backpropagates its objective; the engine makes the update.

Engine step ``i`` (0-based) sees iterate ``i`` (the state after ``i`` updates). When every image has
stopped (and no snapshot is still due) the step ends the run without an update, so ``i`` updates were
made; when the whole budget runs, :meth:`SolveTask.finish` observes the final iterate. Everything that
changes during a solve (the parameters, the kept iterates, the stopping state, the snapshots) is task
state, so a checkpointed solve resumes bit-identically on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from .._task import StepOutput, Task
from ..errors import NonFiniteLossError
from .operators import Operator
from .solution import per_image_psnr
from .stopping import StoppingRule

__all__ = ["SolveTask"]

_Observed = tuple[Tensor, Tensor, Tensor]


class SolveTask(Task):
    """Minimise ``||A x - y||^2 / (2 sigma^2) + lam * E(x)`` over ``params`` (``x = render()``).

    Args:
        params: the tensors the engine's optimiser updates.
        render: the current images ``(B, C, H, W)`` from ``params``.
        y: the measurements.
        operator: ``A``.
        energy: the prior (``energy(x) -> (B,)``) or ``None``.
        lam: the prior's weight per image ``(B,)``.
        sigma: the noise level.
        weights: the data term's weights like ``y`` (0 where the rule holds a measurement out).
        rule: the stopping rule (already started).
        snapshots: iterations whose iterates are kept (sorted).
        iterations: the budget.
        reference: clean images to evaluate the PSNR of iterates against, or ``None``.
        start: the starting image (the kept iterate until the rule keeps one).

    Attributes:
        final: after :meth:`finish`, ``(kept, kept_at, stopped, snapshots)`` of the whole solve.
    """

    def __init__(
        self, params: list[Tensor], render: Callable[[], Tensor], *, y: Tensor, operator: Operator, energy: Any,
        lam: Tensor, sigma: float, weights: Tensor, rule: StoppingRule, snapshots: list[int], iterations: int,
        reference: Tensor | None, start: Tensor,
    ) -> None:  # fmt: skip
        self.params, self.render = params, render
        self.y, self.operator, self.energy, self.sigma = y, operator, energy, sigma
        self.lam = torch.as_tensor(lam, dtype=y.dtype, device=y.device).expand(y.shape[0])
        self.uses_prior = energy is not None and bool((self.lam != 0).any())
        self.weights, self.rule, self.snaps, self.iterations = weights, rule, snapshots, iterations
        self.reference = reference
        self.shape = tuple(start.shape[-2:])
        b = y.shape[0]
        self.kept = start.clone()
        self.kept_at = torch.zeros(b, dtype=torch.long, device=y.device)
        self.stopped = torch.zeros(b, dtype=torch.bool, device=y.device)
        self.taken: dict[int, Tensor] = {}
        self.last_needed = snapshots[-1] if snapshots else 0
        self.observed: int | None = None
        self.final: tuple[Tensor, Tensor, Tensor, dict[int, Tensor]] | None = None

    def parameters(self) -> list[Tensor]:
        return list(self.params)

    def objective(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(objective, data, heldout, prior)`` per image ``(B,)`` of images ``x``."""
        r2 = (self.operator(x) - self.y) ** 2
        data = (r2 * self.weights).flatten(1).sum(1)
        heldout = (r2 * (1 - self.weights)).flatten(1).sum(1)
        pe = self.energy.energy(x) if self.uses_prior else data.new_zeros(x.shape[0])
        return data / (2 * self.sigma**2) + self.lam * pe, data, heldout, pe

    def _observe(self, it: int, x: Tensor, data: Tensor, heldout: Tensor, taken: dict[int, Tensor]) -> _Observed:
        """Let the rule see iterate ``it``; the new ``(kept, kept_at, stopped)`` (snapshots into ``taken``)."""
        keep, stop_now = self.rule.observe(it, data, heldout)
        active = ~self.stopped
        take = keep & active
        kept = torch.where(take.view(-1, 1, 1, 1), x, self.kept)
        kept_at = torch.where(take, torch.full_like(self.kept_at, it), self.kept_at)
        stopped = self.stopped | (stop_now & active & (it < self.iterations))
        if it in self.snaps:
            taken[it] = x.clamp(0, 1).clone()
        return kept, kept_at, stopped

    def step(self, step: int, lr: float) -> StepOutput:
        x = self.render()
        objective, data, heldout, pe = self.objective(x)
        obj = objective.detach()
        self.kept, self.kept_at, self.stopped = self._observe(step, x.detach(), data.detach(), heldout.detach(), self.taken)
        self.observed = step
        if bool(self.stopped.all()) and step >= self.last_needed:
            return StepOutput(float(obj.mean()), stop=True)
        objective.sum().backward()
        return StepOutput(
            float(obj.mean()),
            metrics={"data": float(data.detach().mean()), "prior": float(pe.detach().mean())},
            items={"loss": obj.tolist()},
        )

    def evaluate(self) -> dict[str, float]:
        if self.reference is None:
            return {}
        with torch.no_grad():
            x = self.render().detach()
        return {"psnr": float(per_image_psnr(x.clamp(0, 1), self.reference).mean())}

    def finish(self, done: int) -> None:
        """Observe the final iterate ``done`` unless a step already did (the budget ran out, or a callback
        stopped the solve), without changing the checkpointed state: a resume observes it again."""
        kept, kept_at, stopped, taken = self.kept, self.kept_at, self.stopped, dict(self.taken)
        if self.observed != done:
            x = self.render().detach()
            objective, data, heldout, _ = self.objective(x)
            total = float(objective.detach().sum())
            if not math.isfinite(total):
                raise NonFiniteLossError(
                    f"the objective of the final iterate (after {done} iterations) became {total}; "
                    f"lower the solver's learning rate", step=done + 1, value=total,
                )  # fmt: skip
            saved = self.rule.state_dict()
            kept, kept_at, stopped = self._observe(done, x, data.detach(), heldout.detach(), taken)
            self.rule.load_state_dict(saved)
        self.final = (kept, kept_at, stopped, taken)

    def state_dict(self) -> dict[str, Tensor]:
        state = {f"task/param/{i}": p.detach() for i, p in enumerate(self.params)}
        state.update({"task/kept": self.kept, "task/kept_at": self.kept_at, "task/stopped": self.stopped})
        state.update({f"task/snapshot/{it}": t for it, t in self.taken.items()})
        state.update({f"task/rule/{k}": v for k, v in self.rule.state_dict().items()})
        return state

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:  # type: ignore[override]
        with torch.no_grad():
            for i, p in enumerate(self.params):
                saved = state[f"task/param/{i}"]
                if saved.shape != p.shape:
                    raise ValueError(f"parameter {i} has shape {tuple(saved.shape)} in the checkpoint, {tuple(p.shape)} here")
                p.copy_(saved)
        self.kept = state["task/kept"].to(self.kept).clone()
        self.kept_at = state["task/kept_at"].to(self.kept_at).clone()
        self.stopped = state["task/stopped"].to(self.stopped).clone()
        prefix = "task/snapshot/"
        self.taken = {int(k[len(prefix) :]): v.to(self.kept).clone() for k, v in state.items() if k.startswith(prefix)}
        self.rule.load_state_dict({k[len("task/rule/") :]: v for k, v in state.items() if k.startswith("task/rule/")})
