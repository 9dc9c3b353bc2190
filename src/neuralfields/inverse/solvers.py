"""Solvers of inverse problems: minimise ``||A x - y||^2 / (2 sigma^2) + lam * E(x)`` over the image.

- :class:`MAPSolver` (``"map"``): gradient descent (Adam) on the pixels of ``x``.
- :class:`FieldSolver` (``"field"``): ``x`` is the output of a coordinate network (one SIREN per image,
  evaluated as one batched computation) and the descent is on its weights — a deep-image-prior-style
  solve in which the network's bias towards smooth signals is the prior (``prior`` may add an energy).

One call convention: :func:`solve` ``(y, operator, prior=..., sigma=...)``, or a solver object
``solver(y, operator, prior, sigma=...)``. Early stopping is decided per image by a rule from
:mod:`neuralfields.inverse.stopping`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from .._progress import progress_bar
from .._registry import config_repr, create, register
from ..errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from ..fields.base import Field
from ..fields.render import to_unit
from ..grid import make_grid
from .operators import Operator
from .stopping import StoppingRule, stopping_rule

__all__ = [
    "Prior",
    "Solver",
    "MAPSolver",
    "FieldSolver",
    "Solution",
    "SolveHistory",
    "solve",
    "initial_guess",
    "per_image_psnr",
]


class Prior(Protocol):
    """What a solver needs of a prior: a differentiable energy per image."""

    def energy(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B,)``."""
        ...


@dataclass
class SolveHistory:
    """Per-``record_every`` iterations: means over the batch of the objective and its terms, the PSNR of
    the current iterate (when a reference was given) and the wall time since the start."""

    iteration: list[int] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    data: list[float] = field(default_factory=list)
    prior: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)


@dataclass
class Solution:
    """What a solve returns.

    Attributes:
        x: the restored images ``(B, C, H, W)`` clamped to [0, 1] (each image's kept iterate).
        stopped_at: per image, the iteration of the kept iterate ``(B,)``.
        stopped: per image, whether the stopping rule stopped it before the budget ``(B,)``.
        iterations: iterations run.
        rule: the stopping rule's name.
        history: the recorded curves.
        snapshots: iteration -> the (clamped) iterate at that iteration ``(B, C, H, W)``.
        psnr: per-image PSNR of ``x`` against the reference, if one was given.
    """

    x: Tensor
    stopped_at: Tensor
    stopped: Tensor
    iterations: int
    rule: str
    history: SolveHistory
    snapshots: dict[int, Tensor]
    psnr: list[float] | None = None


def per_image_psnr(x: Tensor, ref: Tensor) -> Tensor:
    """PSNR in dB on the [0, 1] range of each image of a batch ``(B, ...) -> (B,)``.

    Example:
        >>> per_image_psnr(torch.full((2, 1, 4, 4), 0.1), torch.zeros(2, 1, 4, 4)).round()
        tensor([20., 20.], dtype=torch.float64)
    """
    mse = ((x.double() - ref.double()) ** 2).flatten(1).mean(1)
    return -10.0 * torch.log10(mse.clamp_min(1e-20))


def _check_images(x: Any, what: str) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise DTypeError(f"{what} must be a floating-point tensor (B, C, H, W), got {getattr(x, 'dtype', type(x))}")
    if x.dim() != 4:
        raise ShapeError(f"{what} must have shape (B, C, H, W), got {tuple(x.shape)}; add a batch with {what}[None]")
    if not bool(torch.isfinite(x).all()):
        raise InvalidDataError(f"{what} contains NaN or infinite values; replace them (e.g. mask them out) first")
    return x


@torch.no_grad()
def initial_guess(y: Tensor, operator: Operator, kind: str = "adjoint") -> Tensor:
    """A starting image ``(B, C, H, W)`` in [0, 1].

    ``"adjoint"``: ``A^T y`` divided by ``A^T A 1`` where that is non-zero, the image's mean measurement
    elsewhere (e.g. the hidden part of an inpainting mask). ``"flat"``: each image's mean value of the
    ``"adjoint"`` guess, everywhere (a start far from the noise, as the discrepancy principle needs).

    Example:
        >>> from neuralfields.inverse import Downsample
        >>> initial_guess(torch.full((1, 1, 2, 2), 0.5), Downsample(2)).shape
        torch.Size([1, 1, 4, 4])
    """
    if kind not in ("adjoint", "flat"):
        raise ConfigError(f"unknown initial guess {kind!r}; use 'adjoint' or 'flat'")
    num = operator.adjoint(y)
    den = operator.adjoint(operator(torch.ones_like(num)))
    nonzero = den.abs() > 1e-6
    fill = y.flatten(1).mean(1).reshape(-1, *([1] * (num.dim() - 1))).expand_as(num)
    x0 = torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)), fill).clamp(0.0, 1.0)
    if kind == "flat":
        x0 = x0.flatten(1).mean(1).reshape(-1, *([1] * (num.dim() - 1))).expand_as(num).clone()
    return x0


def _from_spec(kind: str, spec: str | Mapping[str, Any]) -> Any:
    """Build from a registered name or a ``{"name": ..., "config": {...}}`` mapping."""
    if isinstance(spec, str):
        return create(kind, spec)
    if "name" not in spec:
        raise ConfigError(f"a {kind} spec needs a 'name' (and optionally a 'config'), got {dict(spec)!r}")
    return create(kind, spec["name"], **dict(spec.get("config", {})))


def _resolve_operator(operator: Any) -> Operator:
    if isinstance(operator, Operator):
        return operator
    if isinstance(operator, (str, Mapping)):
        return _from_spec("operator", operator)  # type: ignore[no-any-return]
    raise DTypeError(f"operator must be an Operator or a registered operator name, got {type(operator).__name__}")


def _resolve_prior(prior: Any) -> Prior | None:
    if prior is None:
        return None
    if isinstance(prior, (os.PathLike, Path)) or (isinstance(prior, str) and prior.endswith(".safetensors")):
        from ..io import load

        prior = load(prior)
    elif isinstance(prior, (str, Mapping)):
        prior = _from_spec("prior", prior)
    if not callable(getattr(prior, "energy", None)):
        raise DTypeError(f"a prior needs an energy(x) method, got {type(prior).__name__}")
    return prior


@contextmanager
def _frozen(prior: Any) -> Iterator[None]:
    """Evaluation mode and no parameter gradients for a module prior during a solve, restored after."""
    if not isinstance(prior, nn.Module):
        yield
        return
    training = prior.training
    flags = [(p, p.requires_grad) for p in prior.parameters()]
    prior.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        prior.train(training)
        for p, flag in flags:
            p.requires_grad_(flag)


class Solver:
    """Base class: subclasses choose how the image is parameterised (:meth:`parameterize`); the loop,
    the objective, snapshots and early stopping are shared.

    Args:
        lr: Adam's learning rate.
    """

    name = "solver"
    start = "adjoint"  # the initial_guess used when no x0 is given

    def __init__(self, lr: float = 0.01) -> None:
        if not isinstance(lr, (int, float)) or not lr > 0:
            raise ConfigError(f"lr must be > 0, got {lr!r}")
        self.lr = float(lr)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments."""
        return {"lr": self.lr}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({config_repr(self)})"

    def parameterize(self, x0: Tensor) -> tuple[list[Tensor], Callable[[], Tensor]]:
        """The tensors to optimise and a function that returns the current image ``(B, C, H, W)``."""
        raise NotImplementedError

    def __call__(
        self,
        y: Tensor,
        operator: Operator | str,
        prior: Prior | str | os.PathLike[str] | None = None,
        *,
        sigma: float,
        lam: float = 1.0,
        iterations: int = 1000,
        snapshots: Iterable[int] = (),
        stop: str | StoppingRule | None = None,
        x0: Tensor | None = None,
        reference: Tensor | None = None,
        record_every: int = 10,
        progress: bool = True,
    ) -> Solution:
        """Restore images from measurements ``y``; see :func:`solve` for the arguments."""
        y = _check_images(y, "y")
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 or not math.isfinite(sigma):
            raise ConfigError(f"sigma must be a finite number > 0 (the noise level of y), got {sigma!r}")
        if not isinstance(lam, (int, float)) or not lam >= 0 or not math.isfinite(lam):
            raise ConfigError(f"lam must be a finite number >= 0, got {lam!r}")
        if not isinstance(iterations, int) or iterations < 0:
            raise ConfigError(f"iterations must be a non-negative int, got {iterations!r}")
        if not isinstance(record_every, int) or record_every < 1:
            raise ConfigError(f"record_every must be a positive int, got {record_every!r}")
        snaps = sorted({int(s) for s in snapshots})
        if any(s < 0 for s in snaps):
            raise ConfigError(f"snapshot iterations must be >= 0, got {snaps}")
        op = _resolve_operator(operator).to(y.device)
        energy = _resolve_prior(prior)
        if isinstance(energy, nn.Module):
            energy.to(y.device)
        rule = stopping_rule(stop)

        start = initial_guess(y, op, self.start) if x0 is None else _check_images(x0, "x0").to(y)
        mapped = tuple(op(start).shape)
        if mapped != tuple(y.shape):
            raise ShapeError(f"the operator maps images {tuple(start.shape)} to {mapped}, but y has shape {tuple(y.shape)}")
        if reference is not None and tuple(_check_images(reference, "reference").shape) != tuple(start.shape):
            raise ShapeError(f"reference must have the images' shape {tuple(start.shape)}, got {tuple(reference.shape)}")
        informative = (op(torch.ones_like(start)) != 0).expand_as(y)
        weights = rule.start(y, informative, float(sigma))

        params, render = self.parameterize(start)
        opt = torch.optim.Adam(params, lr=self.lr)
        b = y.shape[0]
        kept = start.clone()
        kept_at = torch.zeros(b, dtype=torch.long, device=y.device)
        stopped = torch.zeros(b, dtype=torch.bool, device=y.device)
        history, taken = SolveHistory(), {}
        last_needed = snaps[-1] if snaps else 0
        t0 = time.perf_counter()
        bar = progress_bar(progress, iterations, f"solve ({type(self).__name__})", unit="it")
        it = 0
        with _frozen(energy):
            try:
                while True:
                    x = render()
                    r2 = (op(x) - y) ** 2
                    data = (r2 * weights).flatten(1).sum(1)
                    heldout = (r2 * (1 - weights)).flatten(1).sum(1)
                    pe = energy.energy(x) if (energy is not None and lam) else data.new_zeros(b)
                    objective = data / (2 * sigma**2) + lam * pe
                    keep, stop_now = rule.observe(it, data.detach(), heldout.detach())
                    active = ~stopped
                    take = keep & active
                    xd = x.detach()
                    kept = torch.where(take.view(-1, 1, 1, 1), xd, kept)
                    kept_at = torch.where(take, torch.full_like(kept_at, it), kept_at)
                    stopped = stopped | (stop_now & active & (it < iterations))
                    if it in snaps:
                        taken[it] = xd.clamp(0, 1).clone()
                    if it % record_every == 0 or it == iterations:
                        history.iteration.append(it)
                        history.objective.append(float(objective.detach().mean()))
                        history.data.append(float(data.detach().mean()))
                        history.prior.append(float(pe.detach().mean()))
                        history.time.append(time.perf_counter() - t0)
                        if reference is not None:
                            history.psnr.append(float(per_image_psnr(xd.clamp(0, 1), reference).mean()))
                    if not math.isfinite(float(objective.detach().sum())):
                        raise InvalidDataError(f"the objective became non-finite at iteration {it}; lower lr (lr={self.lr})")
                    if it >= iterations or (bool(stopped.all()) and it >= last_needed):
                        break
                    opt.zero_grad(set_to_none=True)
                    objective.sum().backward()
                    opt.step()
                    it += 1
                    if bar is not None:
                        bar.update(1)
            finally:
                if bar is not None:
                    bar.close()
        out = kept.clamp(0, 1)
        return Solution(
            x=out,
            stopped_at=kept_at,
            stopped=stopped,
            iterations=it,
            rule=rule.name,
            history=history,
            snapshots=taken,
            psnr=None if reference is None else [float(v) for v in per_image_psnr(out, reference)],
        )


@register("solver", "map")
class MAPSolver(Solver):
    """MAP estimate by gradient descent (Adam) on the pixels, starting from :func:`initial_guess`.

    Args:
        lr: Adam's learning rate on pixel values in [0, 1].
        start: the :func:`initial_guess` when ``x0`` is not given: ``"flat"`` (default; the residual then
            falls from above the noise level, so the discrepancy principle can stop it) or ``"adjoint"``.

    Example:
        >>> from neuralfields.inverse import Denoise
        >>> clean = torch.rand(2, 1, 8, 8)
        >>> y = Denoise().measure(clean, sigma=0.1, seed=0)
        >>> sol = MAPSolver()(y, Denoise(), "tv", sigma=0.1, lam=0.5, iterations=20, progress=False)
        >>> sol.x.shape, sol.iterations
        (torch.Size([2, 1, 8, 8]), 20)
    """

    name = "map"

    def __init__(self, lr: float = 0.01, start: str = "flat") -> None:
        super().__init__(lr)
        if start not in ("adjoint", "flat"):
            raise ConfigError(f"unknown start {start!r}; use 'flat' or 'adjoint'")
        self.start = start

    @property
    def config(self) -> dict[str, Any]:
        return {"lr": self.lr, "start": self.start}

    def parameterize(self, x0: Tensor) -> tuple[list[Tensor], Callable[[], Tensor]]:
        x = x0.detach().clone().requires_grad_(True)
        return [x], lambda: x


@register("solver", "field")
class FieldSolver(Solver):
    """The image is a coordinate network's output, ``x = (f_theta(grid) + 1) / 2``, one network per image
    evaluated with :meth:`~neuralfields.Field.forward_batched`; Adam descends on the weights.

    Without a prior this is a deep-image-prior-style solve: the network fits the measurements' structure
    before their noise, so it needs early stopping (``stop="holdout"`` or ``"discrepancy"``).

    Args:
        field: the network: a registry spec ``{"name": ..., "config": {...}}`` or config keys of a
            ``"siren"`` (``in_features``/``out_features`` are set from the images). Default: a SIREN with
            3 sine layers of 64 and ``first_omega_0=10`` (lower than 30: images of a few pixels a side).
        lr: Adam's learning rate on the weights.
        seed: seed of the networks' initialisation.
    """

    name = "field"

    def __init__(self, field: Mapping[str, Any] | None = None, lr: float = 1e-3, seed: int = 0) -> None:
        super().__init__(lr)
        spec = dict(field) if field is not None else {}
        if "name" in spec:
            spec = {"name": spec["name"], "config": dict(spec.get("config", {}))}
        else:
            cfg = {"hidden_features": 64, "hidden_layers": 3, "first_omega_0": 10.0}
            spec = {"name": "siren", "config": {**cfg, **spec}}
        self.field_spec, self.seed = spec, seed

    @property
    def config(self) -> dict[str, Any]:
        return {"field": self.field_spec, "lr": self.lr, "seed": self.seed}

    def build_field(self, channels: int) -> Field:
        """The network for images with ``channels`` channels."""
        cfg = {**self.field_spec["config"], "in_features": 2, "out_features": channels}
        if "seed" not in self.field_spec["config"]:
            cfg["seed"] = self.seed
        net = create("field", self.field_spec["name"], **cfg)
        if not isinstance(net, Field):
            raise DTypeError(f"the field solver needs a Field, got {type(net).__name__}")
        return net

    def parameterize(self, x0: Tensor) -> tuple[list[Tensor], Callable[[], Tensor]]:
        b, c, h, w = x0.shape
        net = self.build_field(c).to(device=x0.device, dtype=x0.dtype)
        params = net.batch_parameters(b)
        coords = make_grid((h, w), device=x0.device, dtype=x0.dtype).reshape(1, h * w, 2).expand(b, -1, -1)

        def render() -> Tensor:
            values = to_unit(net.forward_batched(params, coords))  # (B, H*W, C)
            return values.transpose(1, 2).reshape(b, c, h, w)

        return list(params.values()), render


def solve(
    y: Tensor,
    operator: Operator | str,
    prior: Prior | str | os.PathLike[str] | None = None,
    *,
    sigma: float,
    lam: float = 1.0,
    solver: str | Solver | Mapping[str, Any] = "map",
    iterations: int = 1000,
    snapshots: Iterable[int] = (),
    stop: str | StoppingRule | None = None,
    x0: Tensor | None = None,
    reference: Tensor | None = None,
    record_every: int = 10,
    progress: bool = True,
) -> Solution:
    """Restore images from measurements: minimise ``||A x - y||^2 / (2 sigma^2) + lam * E(x)``.

    Args:
        y: measurements ``(B, C, h, w)`` (the operator's output shape).
        operator: the forward operator ``A`` (an :class:`Operator` or a registered name such as ``"denoise"``).
        prior: an object with ``energy(x) -> (B,)`` (e.g. a trained
            :class:`~neuralfields.priors.AutoEncoder`), a registered prior name (``"tv"``), a
            ``.safetensors`` file of a saved prior, or ``None`` (data term only).
        sigma: the noise level of ``y`` (> 0); it weighs the data term and sets the discrepancy level.
        lam: weight of the prior energy.
        solver: ``"map"`` (pixels), ``"field"`` (a SIREN per image), a :class:`Solver`, or a registry spec.
        iterations: the budget.
        snapshots: iterations at which to keep a copy of the iterate (the solve runs at least until the
            last one, even when every image has stopped).
        stop: early stopping: ``"budget"`` (default), ``"discrepancy"``, ``"holdout"`` or a
            :class:`~neuralfields.inverse.stopping.StoppingRule`.
        x0: starting image for the ``"map"`` solver (default: :func:`initial_guess` of the solver's ``start``).
        reference: the clean images, to record PSNR curves and per-image PSNR.
        record_every: iterations between history records.
        progress: show a progress bar (when stderr is a terminal).

    Returns:
        A :class:`Solution`.

    Raises:
        ConfigError: ``sigma <= 0``, negative ``lam`` or bad settings.
        InvalidDataError: NaN or infinite measurements.
        ShapeError: ``y`` does not match the operator (e.g. a mask of another size).

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.inverse import Mask, solve
        >>> clean = nf.data.load_dataset("shapes", n=2, size=16)
        >>> op = Mask((16, 16), kind="quarter")
        >>> y = op.measure(clean, sigma=0.05, seed=0)
        >>> sol = solve(y, op, "tv", sigma=0.05, lam=0.2, iterations=200, reference=clean, progress=False)
        >>> bool(sol.psnr[0] > nf.psnr(y[0], clean[0]))
        True
    """
    if isinstance(solver, Solver):
        s = solver
    elif isinstance(solver, (str, Mapping)):
        s = _from_spec("solver", solver)
    else:
        raise DTypeError(f"solver must be a name, a Solver or a spec, got {type(solver).__name__}")
    return s(
        y, operator, prior, sigma=sigma, lam=lam, iterations=iterations, snapshots=snapshots, stop=stop,
        x0=x0, reference=reference, record_every=record_every, progress=progress,
    )  # fmt: skip
