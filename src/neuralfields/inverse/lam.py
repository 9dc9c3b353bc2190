"""Choosing the prior's weight ``lam`` for the user: a sweep over a log grid, solved as one batch, and a rule
that picks a weight per image from what can be measured without the clean image.

Rules (``criterion``):

- ``"sure"`` (Stein's unbiased risk estimate, for Gaussian denoising): ``||y - x_lam||^2 / n - sigma^2 +
  2 sigma^2 div / n`` estimates the mean squared error against the clean image without knowing it; the
  divergence of ``y -> x_lam`` comes from one random (Rademacher) probe ``b``, ``b . (x_lam(y + eps b) - x_lam(y)) / eps``
  with ``eps = sigma / 10`` (the perturbed solves run in the same batch, so the sweep costs twice as much).
  Pick its minimum, refined by a parabola in ``log lam``. It needs the identity operator and trusts ``sigma``.
- ``"discrepancy"`` (Morozov's discrepancy principle on ``lam``): the residual ``||A x_lam - y||^2`` over the
  measurements that depend on the image grows with ``lam``; pick the ``lam`` at which it equals the noise's
  expected energy ``m sigma^2`` (``m`` such measurements per image: a hidden pixel is not one), interpolated in ``log lam`` between the grid points around the crossing. It trusts
  ``sigma``, and it uses every measurement.
- ``"holdout"`` (cross-validation on the measurements): hold out a fraction of the informative
  measurements from the data term, solve at each ``lam`` and pick the one whose solution predicts the
  held-out values best (a parabola through the best grid point and its neighbours refines it in
  ``log lam``). It does not trust ``sigma``. The final solve uses every measurement.

``"auto"`` is ``"sure"`` for denoising and ``"discrepancy"`` otherwise: on the restoration benchmark
(``benchmarks/restoration.py``) these landed closest to the hindsight-best weight (see :func:`auto_criterion`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .._checks import user_stacklevel
from ..errors import ConfigError, EdgeOfGridWarning
from ._resolve import _resolve_operator, _resolve_prior, _resolve_solver
from .operators import Denoise, Operator
from .solution import initial_guess, per_image_psnr
from .stopping import HoldoutStop, StoppingRule

if TYPE_CHECKING:  # pragma: no cover
    from .solvers import Solver

__all__ = ["LamSweep", "lam_sweep", "lam_grid", "auto_criterion", "CRITERIA", "DEFAULT_LAM_RANGE"]

CRITERIA = ("sure", "discrepancy", "holdout")
"""The rules that choose ``lam`` (besides ``"auto"``)."""

DEFAULT_LAM_RANGE = (0.1, 1000.0)
"""The grid of ``lam="auto"`` for a prior without a ``lam_range`` attribute."""


_PROBE_STREAM = 0x5EED_5C0DE


def lam_grid(low: float, high: float, points: int = 9) -> list[float]:
    """``points`` weights evenly spaced in ``log lam`` from ``low`` to ``high``.

    Example:
        >>> [round(v, 3) for v in lam_grid(0.1, 1000.0)]
        [0.1, 0.316, 1.0, 3.162, 10.0, 31.623, 100.0, 316.228, 1000.0]
    """
    if not (0 < low < high) or not math.isfinite(high):
        raise ConfigError(f"a lam grid needs 0 < low < high, got ({low!r}, {high!r})")
    if isinstance(points, bool) or not isinstance(points, int) or points < 3:
        raise ConfigError(f"a lam grid needs at least 3 points, got {points!r}")
    step = (math.log(high) - math.log(low)) / (points - 1)
    return [math.exp(math.log(low) + i * step) for i in range(points)]


def auto_criterion(operator: Operator) -> str:
    """The rule of ``criterion="auto"``: ``"sure"`` for denoising (the identity operator), ``"discrepancy"``
    for every other operator.

    Chosen by comparing the rules with total variation on 64x64 crops of camera, astronaut and coffee (500
    iterations, a grid of 9 weights): for denoising, SURE followed the true error at every weight and picked
    the best grid weight at sigma 0.05, 0.1 and 0.2, where the discrepancy principle lost up to 3 dB (it
    over-smooths at low noise) and hold-out validation up to 2.8 dB (it under-smooths); for inpainting (a
    hidden quarter, 50% random pixels, sigma 0.05) the discrepancy principle lost less than hold-out
    validation. On the restoration benchmark (``benchmarks/restoration.py``, 64x64) the choice of
    ``"auto"`` landed within 0.3 dB of the best grid weight for every image and prior except inpainting
    of 50% random pixels, where the discrepancy principle over-smoothed by 0.3 to 0.8 dB; with SURE at
    sigma 0.1 and 0.2 it beat every grid weight (by up to 0.8 dB), choosing between them.

    Example:
        >>> from neuralfields.inverse import Denoise, Mask
        >>> auto_criterion(Denoise()), auto_criterion(Mask((8, 8)))
        ('sure', 'discrepancy')
    """
    return "sure" if isinstance(operator, Denoise) else "discrepancy"


class _SweepRule(StoppingRule):
    """Never stops; holds out ``fraction`` of each image's informative values (the same ones at every
    weight) and remembers the last iterate's residuals."""

    name = "lam-sweep"

    def __init__(self, fraction: float, groups: int, seed: int = 0) -> None:
        self.fraction, self.groups, self.seed = fraction, groups, seed
        self.residual: Tensor | None = None
        self.heldout: Tensor | None = None

    def start(self, y: Tensor, informative: Tensor, sigma: float) -> Tensor:
        if not self.fraction:
            return torch.ones_like(y)
        b = y.shape[0] // self.groups
        held = HoldoutStop(self.fraction, seed=self.seed)._held_out(informative[:b].cpu())
        self.counts = held.flatten(1).sum(1).double()  # held-out values per image
        return (~held).to(y).repeat(self.groups, *([1] * (y.dim() - 1)))

    def observe(self, iteration: int, residual: Tensor, heldout: Tensor) -> tuple[Tensor, Tensor]:
        self.residual, self.heldout = residual.detach(), heldout.detach()
        keep = torch.ones_like(residual, dtype=torch.bool)
        return keep, ~keep


@dataclass
class LamSweep:
    """What :func:`lam_sweep` measured and chose.

    Attributes:
        lams: the grid ``(K,)``.
        criterion: the rule that chose (``"sure"``, ``"discrepancy"`` or ``"holdout"``).
        scores: the rule's score per weight and image ``(K, B)``: the estimated mean squared error
            (sure; the choice is its minimum), the residual over its noise level ``m sigma^2``
            (discrepancy; the choice is where it crosses 1) or the mean squared error on the held-out
            measurements (holdout; the choice is its minimum).
        chosen: the chosen weight per image ``(B,)`` (between grid points where refined).
        at_edge: per image, whether the choice lies at the grid's edge ``(B,)`` (a warning was given).
        psnr: with a reference, the PSNR of each weight's solution ``(K, B)`` (hindsight), else ``None``.
        seconds: the sweep's wall time.

    Example:
        >>> sweep = LamSweep([1.0, 10.0, 100.0], "holdout", torch.tensor([[3.0], [1.0], [2.0]]),
        ...                  torch.tensor([10.0]), torch.tensor([False]), torch.tensor([[20.0], [25.0], [22.0]]), 0.1)
        >>> sweep.best_in_hindsight().tolist(), sweep.lost_db().tolist()  # the choice is the best grid point here
        ([10.0], [0.0])
    """

    lams: list[float]
    criterion: str
    scores: Tensor
    chosen: Tensor
    at_edge: Tensor
    psnr: Tensor | None
    seconds: float

    def best_in_hindsight(self) -> Tensor:
        """The grid weight with the best PSNR per image ``(B,)`` (needs a reference)."""
        if self.psnr is None:
            raise ConfigError("the sweep had no reference image, so it knows no hindsight-best weight")
        return torch.tensor(self.lams, dtype=torch.float64)[self.psnr.argmax(0)]

    def lost_db(self) -> Tensor:
        """Per image, the best grid PSNR minus the PSNR at the grid point nearest the choice (in
        ``log lam``): how far the rule lands from the hindsight best ``(B,)``."""
        if self.psnr is None:
            raise ConfigError("the sweep had no reference image, so it cannot say what its choice lost")
        logs = torch.tensor(self.lams, dtype=torch.float64).log()
        nearest = (logs[:, None] - self.chosen.double().log()[None]).abs().argmin(0)
        got = self.psnr.gather(0, nearest[None])[0]
        return self.psnr.max(0).values - got


def _refine_minimum(u: Tensor, s: Tensor) -> Tensor:
    """Per column of scores ``s`` ``(K, B)`` on grid ``u`` ``(K,)`` (any spacing): the minimum of the parabola
    through the best point and its neighbours, kept between the neighbours (the best point itself at an
    edge).

    Example:
        >>> u = torch.tensor([0.0, 1.0, 3.0])  # uneven
        >>> round(float(_refine_minimum(u, ((u - 1.5) ** 2)[:, None])[0]), 6)
        1.5
    """
    k = s.argmin(0)
    out = u[k].clone()
    for b in range(s.shape[1]):
        i = int(k[b])
        if 0 < i < len(u) - 1:
            x0, x1, x2 = float(u[i - 1]), float(u[i]), float(u[i + 1])
            y0, y1, y2 = float(s[i - 1, b]), float(s[i, b]), float(s[i + 1, b])
            slope_lo, slope_hi = (y1 - y0) / (x1 - x0), (y2 - y1) / (x2 - x1)
            curvature = (slope_hi - slope_lo) / (x2 - x0)  # half the parabola's second derivative
            if curvature > 0:
                vertex = (x0 + x1) / 2 - slope_lo / (2 * curvature)
                out[b] = min(max(vertex, x0), x2)
    return out


def _crossing(u: Tensor, s: Tensor, level: float = 1.0) -> tuple[Tensor, Tensor]:
    """Per column: where ``log s`` first rises through ``log level`` (linear in ``u``), and whether no grid
    interval brackets it (then the nearer edge)."""
    logs = s.clamp_min(1e-30).log()
    target = math.log(level)
    out, edge = torch.empty(s.shape[1], dtype=u.dtype), torch.zeros(s.shape[1], dtype=torch.bool)
    for b in range(s.shape[1]):
        above = (logs[:, b] >= target).nonzero()
        if above.numel() == 0:
            out[b], edge[b] = u[-1], True
        elif int(above[0]) == 0:
            out[b], edge[b] = u[0], True
        else:
            i = int(above[0])
            a, c = float(logs[i - 1, b]), float(logs[i, b])
            t = (target - a) / (c - a) if c > a else 0.5
            out[b] = u[i - 1] + t * (u[i] - u[i - 1])
    return out, edge


def lam_sweep(
    y: Tensor,
    operator: Operator,
    prior: Any,
    *,
    sigma: float,
    solver: Solver | str | None = None,
    lams: Sequence[float] | None = None,
    criterion: str = "auto",
    steps: int = 1000,
    fraction: float = 0.1,
    x0: Tensor | None = None,
    reference: Tensor | None = None,
    seed: int = 0,
    warn: bool = True,
    progress: bool = True,
) -> LamSweep:
    """Solve at every weight of a log grid (one batched solve) and choose a weight per image.

    Args:
        y: measurements ``(B, C, h, w)``.
        operator: the forward operator (an :class:`~neuralfields.inverse.Operator`, a registered name or a
            deepinv physics).
        prior: the prior: anything with ``energy(x) -> (B,)``, a registered name (``"tv"``) or a
            ``.safetensors`` file of a saved prior.
        sigma: the noise level of ``y``.
        solver: the solver, by name or as a :class:`~neuralfields.inverse.Solver` (default ``"map"``). Every
            weight is solved for the whole budget, without early stopping.
        lams: the grid (at least 3 weights; default: 9 points over the prior's ``lam_range``, or
            :data:`DEFAULT_LAM_RANGE`).
        criterion: ``"auto"``, ``"sure"``, ``"discrepancy"`` or ``"holdout"`` (see the module's description).
        steps: the budget of each solve (use the final solve's).
        fraction: the held-out fraction of the informative measurements (``"holdout"``).
        x0: the starting images (default: the solver's :func:`initial_guess`).
        reference: clean images, to record each weight's PSNR (hindsight; never used to choose).
        seed: seed of the held-out set and of SURE's probe.
        warn: warn (:class:`~neuralfields.errors.EdgeOfGridWarning`) when a choice lies at the grid's edge.
        progress: progress bar.

    Returns:
        A :class:`LamSweep`; pass ``sweep.chosen`` as a solve's ``lam``.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.inverse import Denoise
        >>> clean = nf.data.load_dataset("shapes", n=2, size=16)
        >>> y = Denoise().measure(clean, sigma=0.1, seed=0)
        >>> sweep = lam_sweep(y, Denoise(), nf.priors.TotalVariation(), sigma=0.1, lams=lam_grid(0.03, 300.0, 9),
        ...                   steps=100, reference=clean, progress=False)
        >>> sweep.scores.shape, sweep.chosen.shape, sweep.criterion, bool(sweep.at_edge.any())
        (torch.Size([9, 2]), torch.Size([2]), 'sure', False)
    """
    solver = _resolve_solver(solver if solver is not None else "map")
    operator = _resolve_operator(operator)
    prior = _resolve_prior(prior)
    if prior is None:
        raise ConfigError("a lam sweep needs a prior: its weight is what the sweep chooses")
    if isinstance(prior, torch.nn.Module):
        prior.to(y.device)
    grid = list(lams) if lams is not None else lam_grid(*getattr(prior, "lam_range", DEFAULT_LAM_RANGE))
    if len(grid) < 3 or any(not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)) for v in grid):
        raise ConfigError(f"a lam grid needs at least 3 finite weights > 0, got {grid!r}")
    grid = sorted(float(v) for v in grid)
    crit = auto_criterion(operator) if criterion == "auto" else criterion
    if crit not in CRITERIA:
        raise ConfigError(f"unknown criterion {criterion!r}; use 'auto' or one of {CRITERIA}")
    if crit == "sure" and not isinstance(operator, Denoise):
        raise ConfigError(f"criterion 'sure' needs the denoising (identity) operator, got {type(operator).__name__}")
    k, b = len(grid), y.shape[0]
    rep = (k, *([1] * (y.dim() - 1)))
    eps = sigma / 10
    # a Rademacher probe from its own stream: a probe equal to the noise (Operator.measure draws it with
    # torch.randn from the same small seeds) would bias the divergence
    gen = torch.Generator().manual_seed(_PROBE_STREAM + seed)
    probe = (torch.randint(0, 2, y.shape, generator=gen) * 2 - 1).to(dtype=y.dtype, device=y.device)
    batch = torch.cat([y, y + eps * probe]) if crit == "sure" else y
    if x0 is not None:
        x0 = torch.cat([x0, x0]) if crit == "sure" else x0
    start = initial_guess(batch, operator, solver.start) if x0 is None else x0.to(y)
    n = batch.shape[0]
    rule = _SweepRule(fraction if crit == "holdout" else 0.0, groups=k, seed=seed)
    weights = torch.tensor(grid, dtype=y.dtype, device=y.device).repeat_interleave(n)
    began = time.perf_counter()
    sol = solver._run(
        batch.repeat(*rep), operator, prior, rule, sigma=float(sigma), lam=weights, steps=steps, snaps=[],
        start=start.repeat(*rep), reference=None, eval_every=max(1, steps), progress=progress,
        desc=f"lam sweep ({k} weights)",
    )  # fmt: skip
    assert rule.residual is not None and rule.heldout is not None
    solutions = sol.x.reshape(k, n, *sol.x.shape[1:])[:, :b]  # (K, B, C, H, W): the unperturbed solves
    u = torch.tensor(grid, dtype=torch.float64).log()
    if crit == "discrepancy":
        # only the measurements that depend on the image count (a hole holds no information about x,
        # whether the data hold noise or zeros there)
        with torch.no_grad():
            informative = (operator(torch.ones_like(solutions[0])) != 0).expand_as(y)
            r2 = (operator(solutions.flatten(0, 1)) - y.repeat(*rep)) ** 2 * informative.repeat(*rep)
        m = informative.flatten(1).sum(1).double().cpu().clamp_min(1)
        scores = r2.flatten(1).sum(1).double().cpu().reshape(k, b) / (m * sigma**2)
        chosen_u, edge = _crossing(u, scores)
    else:
        if crit == "sure":
            perturbed = sol.x.reshape(k, n, *sol.x.shape[1:])[:, b:]
            m = y[0].numel()
            div = (probe[None] * (perturbed - solutions)).flatten(2).sum(2) / eps
            scores = (((y[None] - solutions) ** 2).flatten(2).sum(2) / m - sigma**2 + 2 * sigma**2 * div / m).double().cpu()
        else:
            scores = (rule.heldout.double().cpu()).reshape(k, b) / rule.counts.clamp_min(1)
        chosen_u = _refine_minimum(u, scores)
        best = scores.argmin(0)
        edge = (best == 0) | (best == k - 1)
    psnr = None if reference is None else per_image_psnr(solutions.flatten(0, 1), reference.repeat(*rep)).reshape(k, b).cpu()
    if warn and bool(edge.any()):
        which = edge.nonzero().flatten().tolist()
        warnings.warn(
            f"lam='auto' ({crit}): the chosen weight lies at the edge of the grid [{grid[0]:g}, {grid[-1]:g}] for "
            f"image(s) {which}; the best weight may lie outside it. Widen the grid: "
            f"neuralfields.inverse.lam_sweep(..., lams=lam_grid(low, high)) and pass lam=sweep.chosen",
            EdgeOfGridWarning, stacklevel=user_stacklevel(),
        )  # fmt: skip
    return LamSweep(grid, crit, scores, chosen_u.exp(), edge, psnr, time.perf_counter() - began)
