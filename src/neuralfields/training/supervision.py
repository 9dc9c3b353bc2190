"""Fitting through derivatives, as the SIREN paper does: a signed-distance field from an oriented point cloud
(with the eikonal term), and an image from its gradient or its Laplacian (Poisson-style). Adapters on the
engine (:mod:`neuralfields._loop`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from .._checks import check_positive_int
from .._loop import run
from .._task import StepInfo, StepOutput, Task
from .._metrics import psnr_from_mse
from ..errors import ConfigError, InvalidDataError, ShapeError
from ..fields.base import Field
from ..fields.render import render
from ..grid import RandomBatches, make_grid
from .derivatives import coordinate_gradient, image_gradient, image_laplacian, laplacian
from .history import TrainResult

__all__ = ["fit_sdf", "fit_poisson", "SDFResult", "PoissonResult", "SDF_WEIGHTS"]

SDF_WEIGHTS = {"surface": 3000.0, "normal": 100.0, "eikonal": 50.0, "off_surface": 100.0}
"""The weights of the SDF loss terms, as the SIREN paper's supplement gives them (Sitzmann et al. 2020)."""


class _DerivativeTask(Task):
    """One field, a loss made of its values and derivatives on a batch drawn for each step."""

    def __init__(self, field: Field, loss_of: Callable[[int], tuple[Tensor, dict[str, float]]],
                 evaluate: Callable[[], dict[str, float]], shape: tuple[int, ...] | None) -> None:  # fmt: skip
        self.model, self.shape = field, shape
        self._loss_of, self._evaluate = loss_of, evaluate

    def step(self, step: int, lr: float) -> StepOutput:
        loss, metrics = self._loss_of(step)
        loss.backward()
        return StepOutput(float(loss.detach()), metrics=metrics)

    def evaluate(self) -> dict[str, float]:
        return self._evaluate()


def _check_field(field: Field, dims: int, channels: int, what: str) -> None:
    if not isinstance(field, Field):
        raise ConfigError(f"{what} needs a neuralfields Field, got {type(field).__name__}")
    if field.in_features != dims or field.out_features != channels:
        raise ShapeError(f"{what} needs a field from {dims}-D coordinates to {channels} channel(s), got one from "
                         f"{field.in_features}-D coordinates to {field.out_features}")  # fmt: skip


def _engine(task: Task, steps: int, lr: float, eval_every: int, callbacks: Iterable[Callable[[StepInfo], bool | None]],
            checkpoint: str | os.PathLike[str] | None, checkpoint_every: int | None, resume: bool | str | os.PathLike[str],
            settings: dict, progress: bool, desc: str) -> tuple:  # fmt: skip
    result = run(task, steps=steps, lr=lr, schedule="constant", eval_every=eval_every, callbacks=callbacks, checkpoint=checkpoint,
                 checkpoint_every=checkpoint_every, resume=resume, settings=settings, progress=progress, desc=desc)  # fmt: skip
    return result.history, result.steps, result.stopped_early


@dataclass
class SDFResult(TrainResult):
    """What :func:`fit_sdf` returns.

    Attributes:
        field: the fitted field; its output is the signed distance, in coordinate units.
        steps: steps done in total.
        surface_error: mean ``|f|`` on the surface points after the last step (0 for a perfect fit).
        eikonal_error: mean ``| |grad f| - 1 |`` on uniform points of the domain after the last step.

    Example:
        >>> import torch, neuralfields as nf
        >>> pts = torch.nn.functional.normalize(torch.randn(64, 2, generator=torch.Generator().manual_seed(0)), dim=1) * 0.5
        >>> res = nf.training.fit_sdf(nf.Siren(2, 1, hidden_features=8, seed=0), pts, steps=3, batch_size=32, progress=False)
        >>> res.steps, sorted(res.history.metrics)
        (3, ['eikonal', 'off_surface', 'surface'])
    """

    field: Field | None = None
    steps: int = 0
    surface_error: float = float("nan")
    eikonal_error: float = float("nan")


def fit_sdf(
    field: Field,
    points: Tensor,
    normals: Tensor | None = None,
    *,
    steps: int = 1000,
    lr: float = 1e-4,
    batch_size: int = 4096,
    weights: dict[str, float] | None = None,
    seed: int = 0,
    eval_every: int = 100,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
) -> SDFResult:
    """Fit a signed-distance field to points on a surface (and their normals), with the eikonal term.

    Each step draws ``batch_size`` surface points and as many uniform points of ``[-1, 1]^d``. The loss
    (the SIREN paper's): ``f = 0`` on the surface; ``grad f`` equal to the normal there (with normals);
    ``|grad f| = 1`` everywhere (eikonal); and ``exp(-100 |f|)`` off the surface, which keeps the field
    from vanishing away from it. Extract the surface with :func:`neuralfields.analysis.extract_mesh`
    (``level=0``).

    Args:
        field: a field from d-D coordinates to 1 channel (in place), e.g. ``nf.Siren(3, 1)``.
        points: ``(N, d)`` points on the surface, inside ``[-1, 1]^d``.
        normals: ``(N, d)`` outward unit normals at ``points``, or ``None`` (the normal term is dropped).
        steps: training steps.
        lr: Adam's learning rate (constant, as in the paper).
        batch_size: surface points per step (and as many uniform points).
        weights: weights of ``"surface"``, ``"normal"``, ``"eikonal"`` and ``"off_surface"`` (default
            :data:`SDF_WEIGHTS`; missing keys keep their defaults).
        seed: seed of the batches and the uniform points.
        eval_every: steps between evaluations of the surface error (recorded as ``surface_error``).
        callbacks, checkpoint, checkpoint_every, resume, progress: as in :func:`~neuralfields.fit`.

    Returns:
        An :class:`SDFResult`.

    Example:
        >>> import torch, neuralfields as nf
        >>> pts = torch.nn.functional.normalize(torch.randn(500, 2, generator=torch.Generator().manual_seed(0)), dim=1) * 0.5
        >>> f = nf.Siren(2, 1, hidden_features=64, hidden_layers=2, first_omega_0=10, seed=0)
        >>> res = nf.training.fit_sdf(f, pts, pts / 0.5, steps=300, batch_size=256, progress=False)
        >>> inside, outside = f(torch.tensor([[0.0, 0.0], [0.8, 0.0]])).detach().flatten().tolist()
        >>> res.surface_error < 0.05, inside < 0 < outside
        (True, True)
    """
    if points.dim() != 2:
        raise ShapeError(f"points must be (N, d), got {tuple(points.shape)}")
    n, d = points.shape
    _check_field(field, d, 1, "fit_sdf")
    if normals is not None and normals.shape != points.shape:
        raise ShapeError(f"normals must have the points' shape {tuple(points.shape)}, got {tuple(normals.shape)}")
    if not bool(torch.isfinite(points).all()) or float(points.abs().max()) > 1.0:
        raise InvalidDataError("points must be finite and inside [-1, 1]^d (scale the shape into the domain)")
    w = dict(SDF_WEIGHTS)
    unknown = set(weights or {}) - set(w)
    if unknown:
        raise ConfigError(f"unknown SDF loss weights {sorted(unknown)}; the terms are {sorted(w)}")
    w.update(weights or {})
    param = next(field.parameters())
    pts = points.to(param.device, param.dtype)
    nrm = None if normals is None else torch.nn.functional.normalize(normals.to(pts), dim=1)
    sampler = RandomBatches(n, check_positive_int("batch_size", batch_size), seed=seed)
    m = sampler.batch_size

    def uniform(step: int) -> Tensor:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        return (torch.rand(m, d, generator=gen, dtype=pts.dtype) * 2 - 1).to(pts.device)

    def loss_of(step: int) -> tuple[Tensor, dict[str, float]]:
        idx = sampler.batch(step).to(pts.device)
        on_values, on_grad = coordinate_gradient(field, pts[idx])
        off_values, off_grad = coordinate_gradient(field, uniform(step))
        terms = {
            "surface": on_values.abs().mean(),
            "eikonal": (torch.cat([on_grad, off_grad]).norm(dim=-1) - 1).abs().mean(),
            "off_surface": torch.exp(-100.0 * off_values.abs()).mean(),
        }
        if nrm is not None:
            terms["normal"] = (1 - torch.nn.functional.cosine_similarity(on_grad[:, 0], nrm[idx], dim=-1)).mean()
        loss = sum(w[k] * v for k, v in terms.items())
        return loss, {k: float(v.detach()) for k, v in terms.items()}  # type: ignore[return-value]

    def errors() -> dict[str, float]:
        with torch.no_grad():
            surface = float(torch.cat([field(pts[s : s + 65536]) for s in range(0, n, 65536)]).abs().mean())
        _, grad = coordinate_gradient(field, uniform(-1), create_graph=False)
        return {"surface_error": surface, "eikonal_error": float((grad.norm(dim=-1) - 1).abs().mean())}

    settings = {"batch_size": m, "seed": seed, "weights": w, "normals": normals is not None}
    history, done, early = _engine(_DerivativeTask(field, loss_of, errors, None), steps, lr, eval_every, callbacks,
                                   checkpoint, checkpoint_every, resume, settings, progress, "fit sdf")  # fmt: skip
    evaluated = history.val_step[-1:] == [done]  # the engine evaluates after the last step (unless stopped early)
    final = {k: history.val_metrics[k][-1] for k in ("surface_error", "eikonal_error")} if evaluated else errors()
    return SDFResult(history=history, stopped_early=early, field=field, steps=done, **final)


@dataclass
class PoissonResult(TrainResult):
    """What :func:`fit_poisson` returns.

    Attributes:
        field: the fitted field.
        steps: steps done in total.
        psnr: PSNR of the render against the image after matching each channel's mean (the derivatives
            fix the image only up to a constant), when the image was given to compare with.

    Example:
        >>> import neuralfields as nf
        >>> res = nf.training.fit_poisson(nf.Siren(2, 1, hidden_features=8, seed=0), nf.data.load_image("camera", size=8),
        ...                               steps=3, progress=False)
        >>> res.steps, res.psnr > 0
        (3, True)
    """

    field: Field | None = None
    steps: int = 0
    psnr: float = float("nan")


def fit_poisson(
    field: Field,
    image: Tensor,
    *,
    supervise: str = "gradient",
    steps: int = 1000,
    lr: float = 1e-4,
    batch_size: int | None = None,
    seed: int = 0,
    eval_every: int = 50,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
) -> PoissonResult:
    """Fit a field to an image through its derivatives only: its gradient or its Laplacian.

    The field never sees a pixel value: the loss is the mean squared difference between the field's
    gradient (or Laplacian) at the pixel centres and the image's (:func:`image_gradient`,
    :func:`image_laplacian`), so the image is recovered up to a constant (a Laplacian also leaves a
    harmonic function free). The PSNR reported matches each channel's mean first.

    Args:
        field: a field from 2-D coordinates to the image's channels (in place).
        image: ``(C, H, W)`` in [0, 1], at least 3x3.
        supervise: ``"gradient"`` or ``"laplacian"``.
        steps: training steps.
        lr: Adam's learning rate (constant).
        batch_size: pixels per step, or ``None`` for all of them.
        seed: seed of the batches.
        eval_every: steps between PSNR evaluations (a full render; recorded as the held-out PSNR).
        callbacks, checkpoint, checkpoint_every, resume, progress: as in :func:`~neuralfields.fit`.

    Returns:
        A :class:`PoissonResult`.

    Example:
        >>> import neuralfields as nf
        >>> img = nf.data.load_image("camera", size=24)
        >>> f = nf.Siren(2, 1, hidden_features=64, hidden_layers=2, seed=0)
        >>> res = nf.training.fit_poisson(f, img, steps=150, lr=1e-3, progress=False)
        >>> res.psnr > 20
        True
    """
    if supervise not in ("gradient", "laplacian"):
        raise ConfigError(f"supervise must be 'gradient' or 'laplacian', got {supervise!r}")
    if image.dim() != 3:
        raise ShapeError(f"image must be (C, H, W), got {tuple(image.shape)}")
    c, h, w = image.shape
    _check_field(field, 2, c, "fit_poisson")
    param = next(field.parameters())
    target = (image_gradient(image) if supervise == "gradient" else image_laplacian(image)).to(param.device, param.dtype)
    coords = make_grid((h, w)).reshape(-1, 2).to(param.device, param.dtype)
    sampler = None if batch_size is None or batch_size >= h * w else RandomBatches(h * w, check_positive_int("batch_size", batch_size), seed=seed)
    derivative = coordinate_gradient if supervise == "gradient" else laplacian

    def loss_of(step: int) -> tuple[Tensor, dict[str, float]]:
        idx = slice(None) if sampler is None else sampler.batch(step).to(coords.device)
        _, d = derivative(field, coords[idx])
        return ((d - target[idx]) ** 2).mean(), {}

    def evaluate() -> dict[str, float]:
        recon = render(field, (h, w), clamp=False).cpu()
        recon = recon - recon.mean(dim=(1, 2), keepdim=True) + image.mean(dim=(1, 2), keepdim=True)
        return {"psnr": psnr_from_mse(float(((recon.clamp(0, 1) - image) ** 2).mean()), 1.0)}

    settings = {"supervise": supervise, "batch_size": batch_size, "seed": seed}
    history, done, early = _engine(_DerivativeTask(field, loss_of, evaluate, (h, w)), steps, lr, eval_every, callbacks,
                                   checkpoint, checkpoint_every, resume, settings, progress, f"fit {supervise}")  # fmt: skip
    psnr = history.val_psnr[-1] if history.val_step[-1:] == [done] else evaluate()["psnr"]
    return PoissonResult(history=history, stopped_early=early, field=field, steps=done, psnr=psnr)
