"""Solvers of inverse problems: minimise ``||A x - y||^2 / (2 sigma^2) + lam * E(x)`` over the image.

- :class:`MAPSolver` (``"map"``): gradient descent (Adam) on the pixels of ``x``.
- :class:`FieldSolver` (``"field"``): ``x`` is the output of a coordinate network (one SIREN per image,
  evaluated as one batched computation) and the descent is on its weights — a deep-image-prior-style
  solve in which the network's bias towards smooth signals is the prior (``prior`` may add an energy).

One call convention: :func:`solve` ``(y, operator, prior=..., sigma=...)``, or a solver object
``solver(y, operator, prior, sigma=...)``. Early stopping is decided per image by a rule from
:mod:`neuralfields.inverse.stopping`. The iterations run on the one engine (:mod:`neuralfields._loop`):
callbacks, checkpoints and resume, progress and the non-finite check are the trainers'.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .._loop import run
from .._config import Configurable
from .._registry import config_repr, create, register
from .._task import StepInfo
from ..errors import ConfigError, DTypeError, ShapeError
from ..fields.base import Field
from ..fields.render import to_unit
from ..grid import make_grid
from ._resolve import _frozen, _one_of, _resolve_operator, _resolve_prior, _resolve_solver
from ._solve_task import SolveTask
from ..priors.base import Prior
from .lam import lam_sweep
from .operators import Operator
from .solution import Solution, check_images, initial_guess, per_image_psnr
from .stopping import StoppingRule, stopping_rule

__all__ = ["Prior", "Solver", "MAPSolver", "FieldSolver", "Solution", "solve", "initial_guess", "per_image_psnr"]


class Solver(Configurable):
    """Base class: subclasses choose how the image is parameterised (:meth:`parameterize`); the loop,
    the objective, snapshots and early stopping are shared. Its ``config`` is captured from the
    constructor's arguments.

    Args:
        lr: Adam's learning rate.

    Example:
        A solver whose image is the sigmoid of its variables (so it stays inside (0, 1)):

        >>> import neuralfields as nf
        >>> from neuralfields.inverse import Denoise
        >>> class SigmoidSolver(Solver):
        ...     def parameterize(self, x0):
        ...         t = torch.logit(x0.clamp(0.01, 0.99)).requires_grad_(True)
        ...         return [t], lambda: torch.sigmoid(t)
        >>> clean = nf.data.load_dataset("shapes", n=2, size=16)
        >>> y = Denoise().measure(clean, sigma=0.1, seed=0)
        >>> sol = SigmoidSolver(lr=0.05)(y, "denoise", "tv", sigma=0.1, lam=1.0, steps=30, reference=clean, progress=False)
        >>> sol.x.shape, bool(sol.psnr[0] > nf.psnr(y[0], clean[0])), SigmoidSolver(lr=0.05).config
        (torch.Size([2, 1, 16, 16]), True, {'lr': 0.05})
        >>> isinstance(MAPSolver(), Solver), isinstance(FieldSolver(), Solver)
        (True, True)
    """

    name = "solver"
    start = "adjoint"  # the initial_guess used when no x0 is given
    default_stop = "budget"  # the stopping rule when a solve names none

    def __init__(self, lr: float = 0.01) -> None:
        if not isinstance(lr, (int, float)) or not lr > 0:
            raise ConfigError(f"lr must be > 0, got {lr!r}")
        self.lr = float(lr)

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
        lam: float | str | Sequence[float] | Tensor = "auto",
        steps: int | None = None,
        snapshots: Iterable[int] = (),
        stop: str | Mapping[str, Any] | StoppingRule | None = None,
        x0: Tensor | None = None,
        reference: Tensor | None = None,
        eval_every: int | None = None,
        callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int | None = None,
        resume: bool | str | os.PathLike[str] = False,
        progress: bool = True,
        iterations: int | None = None,
        record_every: int | None = None,
    ) -> Solution:
        """Restore images from measurements ``y``; see :func:`solve` for the arguments."""
        steps = _one_of("steps", steps, "iterations", iterations, 1000)
        eval_every = _one_of("eval_every", eval_every, "record_every", record_every, 10)
        y = check_images(y, "y")
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 or not math.isfinite(sigma):
            raise ConfigError(f"sigma must be a finite number > 0 (the noise level of y), got {sigma!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ConfigError(f"steps must be a non-negative int, got {steps!r}")
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ConfigError(f"eval_every must be a positive int, got {eval_every!r}")
        snaps = sorted({int(s) for s in snapshots})
        if any(s < 0 for s in snaps):
            raise ConfigError(f"snapshot iterations must be >= 0, got {snaps}")
        op = _resolve_operator(operator).to(y.device)
        energy = _resolve_prior(prior)
        if isinstance(energy, nn.Module):
            energy.to(y.device)
        rule = stopping_rule(stop if stop is not None else self.default_stop)
        start = initial_guess(y, op, self.start) if x0 is None else check_images(x0, "x0").to(y)
        mapped = tuple(op(start).shape)
        if mapped != tuple(y.shape):
            raise ShapeError(f"the operator maps images {tuple(start.shape)} to {mapped}, but y has shape {tuple(y.shape)}")
        if reference is not None and tuple(check_images(reference, "reference").shape) != tuple(start.shape):
            raise ShapeError(f"reference must have the images' shape {tuple(start.shape)}, got {tuple(reference.shape)}")
        sweep = None
        if isinstance(lam, str) and lam == "auto" and energy is not None and steps > 0:
            sweep = lam_sweep(y, op, energy, sigma=float(sigma), solver=self, steps=steps, x0=x0, reference=reference,
                              progress=progress)  # fmt: skip
            weights = sweep.chosen.to(y)
        else:
            weights = _lam_per_image(lam, y.shape[0]).to(y)
        solution = self._run(
            y, op, energy, rule, sigma=float(sigma), lam=weights, steps=steps, snaps=snaps, start=start,
            reference=reference, eval_every=eval_every, callbacks=callbacks, checkpoint=checkpoint,
            checkpoint_every=checkpoint_every, resume=resume, progress=progress, x0_given=x0 is not None,
            lam_setting="auto" if sweep is not None else None,
        )  # fmt: skip
        solution.sweep = sweep
        return solution

    def _run(
        self, y: Tensor, op: Operator, energy: Any, rule: StoppingRule, *, sigma: float, lam: Tensor, steps: int,
        snaps: list[int], start: Tensor, reference: Tensor | None, eval_every: int,
        callbacks: Iterable[Callable[[StepInfo], bool | None]] = (), checkpoint: Any = None,
        checkpoint_every: int | None = None, resume: Any = False, progress: bool = True, x0_given: bool = False,
        desc: str | None = None, lam_setting: str | None = None,
    ) -> Solution:  # fmt: skip
        """One solve of checked, resolved arguments, with a prior weight per image ``lam`` ``(B,)``; a
        checkpoint records ``lam_setting`` (``"auto"``: a resumed solve sweeps again) instead of the weights."""
        informative = (op(torch.ones_like(start)) != 0).expand_as(y)
        weights = rule.start(y, informative, sigma)
        params, render = self.parameterize(start)
        task = SolveTask(
            list(params), render, y=y, operator=op, energy=energy, lam=lam, sigma=sigma, weights=weights,
            rule=rule, snapshots=snaps, iterations=steps, reference=reference, start=start,
        )  # fmt: skip
        settings = {
            "solver": {"name": self.name, "config": self.config}, "operator": type(op).__name__,
            "prior": None if energy is None else type(energy).__name__, "sigma": sigma, "lam": lam_setting or lam.tolist(),
            "rule": {"name": rule.name, "config": rule.config}, "snapshots": snaps, "eval_every": eval_every,
            "x0": x0_given, "reference": reference is not None, "y": list(y.shape),
        }  # fmt: skip
        with _frozen(energy):
            result = run(
                task, steps=steps, lr=self.lr, eval_every=eval_every, eval_at_start=True, callbacks=callbacks,
                checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
                settings=json.loads(json.dumps(settings)), progress=progress,
                desc=desc or f"solve ({type(self).__name__})", unit="it",
            )  # fmt: skip
        assert task.final is not None
        kept, kept_at, stopped, taken = task.final
        out = kept.clamp(0, 1)
        return Solution(
            x=out, stopped_at=kept_at, stopped=stopped, iterations=result.steps, rule=rule.name,
            history=result.history, snapshots=taken,
            psnr=None if reference is None else [float(v) for v in per_image_psnr(out, reference)],
            stopped_early=result.stopped_early, lam=lam.detach().cpu().double(),
        )  # fmt: skip


def _lam_per_image(lam: Any, b: int) -> Tensor:
    """``lam`` (a number, or one per image) as a float64 tensor ``(B,)``."""
    if isinstance(lam, str):
        if lam != "auto":
            raise ConfigError(f"lam must be a number >= 0, one per image, or 'auto', got {lam!r}")
        return torch.zeros(b, dtype=torch.float64)  # no prior (or no steps): the weight plays no part
    if isinstance(lam, bool):
        raise ConfigError(f"lam must be a number >= 0, one per image, or 'auto', got {lam!r}")
    try:
        t = torch.as_tensor(lam, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(f"lam must be a number >= 0, one per image, or 'auto', got {lam!r}") from None
    if t.dim() == 0:
        t = t.expand(b)
    if t.shape != (b,):
        raise ConfigError(f"lam must be one number or one per image ({b}), got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()):
        raise ConfigError(f"lam must be finite and >= 0, got {t.tolist()}")
    return t.clone()


@register("solver", "map", example={"lr": 0.05})
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
        >>> sol = MAPSolver()(y, Denoise(), "tv", sigma=0.1, lam=0.5, steps=20, progress=False)
        >>> sol.x.shape, sol.iterations
        (torch.Size([2, 1, 8, 8]), 20)
    """

    name = "map"

    def __init__(self, lr: float = 0.01, start: str = "flat") -> None:
        super().__init__(lr)
        if start not in ("adjoint", "flat"):
            raise ConfigError(f"unknown start {start!r}; use 'flat' or 'adjoint'")
        self.start = start

    def parameterize(self, x0: Tensor) -> tuple[list[Tensor], Callable[[], Tensor]]:
        x = x0.detach().clone().requires_grad_(True)
        return [x], lambda: x


@register("solver", "field", example={"field": {"hidden_features": 16, "hidden_layers": 2}, "lr": 0.001})
class FieldSolver(Solver):
    """The image is a coordinate network's output, ``x = (f_theta(grid) + 1) / 2``, one network per image
    evaluated with :meth:`~neuralfields.Field.forward_batched`; Adam descends on the weights.

    Without a prior this is a deep-image-prior-style solve: the network fits the measurements' structure
    before their noise, so it needs early stopping: its default rule is ``"discrepancy"``. On the
    restoration benchmark (``benchmarks/restoration.py``, 64x64 crops, 500 iterations) the discrepancy stop
    beat a fixed budget on all five tasks (by 0.4 to 6.7 dB) and the hold-out stop on four of them; it
    lands 0.0 to 0.7 dB below the best snapshot in hindsight.

    Args:
        field: the network: a registry spec ``{"name": ..., "config": {...}}`` or config keys of a
            ``"siren"`` (``in_features``/``out_features`` are set from the images). Default: a SIREN with
            3 sine layers of 64 and ``first_omega_0=10`` (lower than 30: images of a few pixels a side).
        lr: Adam's learning rate on the weights.
        seed: seed of the networks' initialisation.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.inverse import Denoise
        >>> solver = FieldSolver({"hidden_features": 16, "hidden_layers": 2}, lr=1e-3)
        >>> solver.config["field"]  # the network's spec, defaults filled in
        {'name': 'siren', 'config': {'hidden_features': 16, 'hidden_layers': 2, 'first_omega_0': 10.0}}
        >>> solver.build_field(3).out_features
        3
        >>> clean = nf.data.load_dataset("shapes", n=2, size=8)
        >>> y = Denoise().measure(clean, sigma=0.1, seed=0)
        >>> sol = solver(y, Denoise(), sigma=0.1, steps=20, stop="holdout", progress=False)
        >>> sol.x.shape, sol.rule, sol.iterations
        (torch.Size([2, 1, 8, 8]), 'holdout', 20)
    """

    name = "field"
    default_stop = "discrepancy"

    def __init__(self, field: Mapping[str, Any] | None = None, lr: float = 1e-3, seed: int = 0) -> None:
        super().__init__(lr)
        spec = dict(field) if field is not None else {}
        if "name" in spec:
            spec = {"name": spec["name"], "config": dict(spec.get("config", {}))}
        else:
            cfg = {"hidden_features": 64, "hidden_layers": 3, "first_omega_0": 10.0}
            spec = {"name": "siren", "config": {**cfg, **spec}}
        self.field_spec, self.seed = spec, seed

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "field": self.field_spec}  # the network's full spec, defaults resolved

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
    lam: float | str | Sequence[float] | Tensor = "auto",
    solver: str | Solver | Mapping[str, Any] = "map",
    steps: int | None = None,
    snapshots: Iterable[int] = (),
    stop: str | Mapping[str, Any] | StoppingRule | None = None,
    x0: Tensor | None = None,
    reference: Tensor | None = None,
    eval_every: int | None = None,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
    iterations: int | None = None,
    record_every: int | None = None,
) -> Solution:
    """Restore images from measurements: minimise ``||A x - y||^2 / (2 sigma^2) + lam * E(x)``.

    Args:
        y: measurements ``(B, C, h, w)`` (the operator's output shape).
        operator: the forward operator ``A``: an :class:`Operator`, a registered name such as ``"denoise"``, or a
            deepinv physics (e.g. ``deepinv.physics.Inpainting``; :class:`~neuralfields.inverse.PhysicsOperator`).
        prior: an object with ``energy(x) -> (B,)`` (e.g. a trained
            :class:`~neuralfields.priors.AutoEncoder`), a registered prior name (``"tv"``), a
            ``.safetensors`` file of a saved prior, or ``None`` (data term only).
        sigma: the noise level of ``y`` (> 0); it weighs the data term and sets the discrepancy level.
        lam: weight of the prior energy: ``"auto"`` (default; chosen per image by :func:`lam_sweep` on
            the prior's ``lam_range``, which costs one batched solve of 9 weights more, 18 for SURE, each for the
            whole budget without early stopping, and warns when a
            choice lies at the grid's edge; a resumed solve sweeps again), a number, or one number per image.
            Ignored without a prior.
        solver: ``"map"`` (pixels), ``"field"`` (a SIREN per image), a :class:`Solver`, or a registry spec.
        steps: the budget: iterations of the solver (default 1000).
        snapshots: iterations at which to keep a copy of the iterate (the solve runs at least until the
            last one, even when every image has stopped).
        stop: early stopping: the solver's ``default_stop`` when ``None`` (``"budget"`` for ``"map"``,
            ``"discrepancy"`` for ``"field"``), ``"budget"``, ``"discrepancy"``, ``"holdout"``, another rule
            registered under ``"stopping"`` (by name or ``{"name": ..., "config": {...}}``) or a
            :class:`~neuralfields.inverse.stopping.StoppingRule`.
        x0: starting image for the ``"map"`` solver (default: :func:`initial_guess` of the solver's ``start``).
        reference: the clean images, to record PSNR curves (``history.val_psnr``) and per-image PSNR.
        eval_every: iterations between PSNR records (with a reference; default 10).
        callbacks: called after each iteration with a :class:`~neuralfields.StepInfo` (``step``: iterations
            done; ``items["loss"]``: each image's objective); one returning ``True`` stops the solve.
        checkpoint: write a checkpoint here at the end (and every ``checkpoint_every`` iterations).
        checkpoint_every: iterations between checkpoints.
        resume: a checkpoint to resume from, or ``True`` to resume from ``checkpoint`` if it exists (the
            same settings; the solve continues bit-identically on the CPU).
        progress: show a progress bar (when stderr is a terminal).
        iterations, record_every: the earlier names of ``steps`` and ``eval_every`` (still accepted; give
            one name of each pair).

    Returns:
        A :class:`Solution`.

    Raises:
        ConfigError: ``sigma <= 0``, negative ``lam`` or bad settings.
        InvalidDataError: NaN or infinite measurements.
        NonFiniteLossError: the objective became NaN or infinite (lower the solver's ``lr``).
        ShapeError: ``y`` does not match the operator (e.g. a mask of another size).
        CheckpointError: ``resume`` from a checkpoint of other settings.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.inverse import Mask, solve
        >>> clean = nf.data.load_dataset("shapes", n=2, size=16)
        >>> op = Mask((16, 16), kind="quarter")
        >>> y = op.measure(clean, sigma=0.05, seed=0)
        >>> sol = solve(y, op, "tv", sigma=0.05, lam=0.2, steps=200, reference=clean, progress=False)
        >>> bool(sol.psnr[0] > nf.psnr(y[0], clean[0]))
        True
    """
    return _resolve_solver(solver)(
        y, operator, prior, sigma=sigma, lam=lam, steps=steps, snapshots=snapshots, stop=stop,
        x0=x0, reference=reference, eval_every=eval_every, callbacks=callbacks, checkpoint=checkpoint,
        checkpoint_every=checkpoint_every, resume=resume, progress=progress, iterations=iterations,
        record_every=record_every,
    )  # fmt: skip
