"""Restore held-out images with the priors of :func:`~neuralfields.experiments.train_prior`, total variation and
a field per image, and write a report folder."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from ..inverse import Denoise, Downsample, FieldSolver, Mask, MAPSolver, Operator, lam_sweep
from ..inverse._resolve import _resolve_prior
from ._report import write_json
from .priors import _mean_psnr

__all__ = ["RestoreConfig", "restore", "task_operator", "TASKS"]

TASKS = ("denoise", "inpaint", "superres")
"""The restoration tasks of :func:`restore`."""


@dataclass
class RestoreConfig:
    """Settings of :func:`restore`.

    Attributes:
        task: ``"denoise"``, ``"inpaint"`` (the bottom-right quarter hidden) or ``"superres"`` (factor 2).
        sigma: noise level of the measurements.
        iterations: the budget of every solve.
        snapshots: iterations whose iterates are reported.
        stop: the early-stopping rule (a registered ``"stopping"`` name), or ``None`` for each solver's
            default (``"budget"`` for the pixel solver, ``"discrepancy"`` for the field solver); the
            report shows the rule's result next to the best iteration in hindsight.
        methods: which restorations to run: the prior names (``"plain"``, ``"moment-matched"``), ``"tv"``
            and ``"field"`` (a SIREN per image, no prior).
        lam: the prior weight of every prior method: ``"auto"`` (chosen per image by
            :func:`~neuralfields.inverse.lam_sweep`, from the measurements only) or a number.
        lams: per method, the grid of the ``"auto"`` sweep (at least 3 weights; default: the prior's
            ``lam_range``).
        test: number of test images (held-out images, at most this many).
        map_lr: learning rate of the pixel (MAP) solver.
        field: the field solver's network config (see :class:`~neuralfields.inverse.FieldSolver`).
        field_lr: learning rate of the field solver.
        seed: seed of the noise and of the field networks.

    Example:
        >>> cfg = RestoreConfig.quick(task="inpaint")
        >>> cfg.task, cfg.iterations, cfg.snapshots, cfg.methods, cfg.lam, cfg.stop
        ('inpaint', 300, (100, 300), ('plain', 'moment-matched', 'tv', 'field'), 'auto', None)
    """

    task: str = "denoise"
    sigma: float = 0.1
    iterations: int = 10000
    snapshots: tuple[int, ...] = (1000, 10000)
    stop: str | None = None
    methods: tuple[str, ...] = ("plain", "moment-matched", "tv", "field")
    lam: Any = "auto"
    lams: dict[str, tuple[float, ...]] = field(default_factory=dict)
    test: int = 128
    map_lr: float = 0.01
    field: dict[str, Any] = field(default_factory=lambda: {"hidden_features": 64, "hidden_layers": 3, "first_omega_0": 3.0})
    field_lr: float = 1e-4
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> RestoreConfig:
        """A preset that finishes in under a minute on 2 CPU cores."""
        return cls(**{"iterations": 300, "snapshots": (100, 300), "test": 16, **overrides})


def task_operator(task: str, shape: tuple[int, int]) -> Operator:
    """The forward operator of a task for images of ``shape``."""
    if task == "denoise":
        return Denoise()
    if task == "inpaint":
        return Mask(shape, kind="quarter")
    if task == "superres":
        return Downsample(2)
    raise ConfigError(f"unknown task {task!r}; use one of {TASKS}")


def _solver_for(method: str, cfg: RestoreConfig) -> tuple[Any, Any]:
    """(solver, prior) of a method."""
    if method == "field":
        return FieldSolver(cfg.field, lr=cfg.field_lr, seed=cfg.seed), None
    return MAPSolver(lr=cfg.map_lr), ("tv" if method == "tv" else method)


def restore(
    images: Tensor,
    out: str | os.PathLike[str],
    config: RestoreConfig | None = None,
    *,
    priors: dict[str, Any] | None = None,
    heldout: Tensor | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Corrupt held-out images, restore them with each method and report the PSNR figures.

    Every prior method's weight is chosen per test image from its measurements alone (``lam="auto"``,
    see :func:`~neuralfields.inverse.lam_sweep`); each solve stops by ``config.stop`` (default: the
    solver's own default rule). The report states, per method, what the automatic choices gave next to
    the best in hindsight: the best grid weight of the sweep and the best iteration of the solve.

    The report (``out``): ``restorations.png`` (original / corrupted / each method at each snapshot and
    at its stopping point, a few test images), ``psnr_curves.png`` (mean test PSNR per iteration of each
    method, with the corrupted input's PSNR), ``lambda_selection.png`` (each prior method's mean test PSNR
    per grid weight, in hindsight, with the weights the rule chose) and ``metrics.json``.

    Args:
        images: the image set ``(N, C, H, W)`` in [0, 1].
        out: report folder (created).
        config: settings (default :class:`RestoreConfig`).
        priors: name -> prior with an ``energy`` (e.g. the autoencoders of :func:`train_prior`), for the
            methods that name one.
        heldout: indices of the images the priors never saw; the test images come from them (default: all
            images).
        progress: progress bars.

    Returns:
        The metrics (also in ``metrics.json``).

    Example:
        The quick preset shrunk to seconds, with the two methods that need no trained prior:

        >>> import neuralfields as nf, tempfile
        >>> images = nf.data.load_dataset("shapes", n=4, size=8)
        >>> cfg = RestoreConfig.quick(iterations=4, snapshots=(2, 4), test=2, methods=("tv", "field"), lam=1.0)
        >>> m = restore(images, tempfile.mkdtemp(), cfg, progress=False)
        >>> sorted(m["methods"]), m["images"]["test"], sorted(m["methods"]["tv"]["psnr_at"])
        (['field', 'tv'], 2, ['2', '4'])
        >>> m["methods"]["tv"]["lam"], m["methods"]["tv"]["early_stop"]["rule"]  # a fixed weight; the default stop
        ([1.0, 1.0], 'budget')
    """
    from ..plots import plot_curves, plot_image_grid, plot_lam_sweep

    cfg = config or RestoreConfig()
    priors = dict(priors or {})
    if cfg.task not in TASKS:
        raise ConfigError(f"unknown task {cfg.task!r}; use one of {TASKS}")
    missing = [m for m in cfg.methods if m not in ("tv", "field") and m not in priors]
    if missing:
        raise ConfigError(f"no prior given for the methods {missing}; pass priors={{name: model}}")
    idx = torch.arange(images.shape[0]) if heldout is None else heldout
    test = images[idx[: cfg.test]]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    op = task_operator(cfg.task, tuple(images.shape[-2:]))
    y_test = op.measure(test, sigma=cfg.sigma, seed=cfg.seed + 1)
    corrupted = _corrupted_view(y_test, op)

    metrics: dict[str, Any] = {
        "config": asdict(cfg),
        "images": {"test": int(test.shape[0]), "size": list(images.shape[1:])},
        "corrupted_psnr": _mean_psnr(corrupted, test),
        "methods": {},
    }
    curves, selection, results = {}, {}, {}
    for method in cfg.methods:
        solver, prior = _solver_for(method, cfg)
        prior = priors.get(method, prior)
        lam: Any = cfg.lam
        if prior is not None and cfg.lam == "auto" and cfg.iterations > 0:
            sweep = lam_sweep(y_test, op, _resolve_prior(prior), sigma=cfg.sigma, solver=solver, lams=cfg.lams.get(method),
                              steps=cfg.iterations, reference=test, progress=progress)  # fmt: skip
            lam = sweep.chosen
            selection[method] = sweep
        sol = solver(y_test, op, prior, sigma=cfg.sigma, lam=lam, steps=cfg.iterations, snapshots=cfg.snapshots,
                     stop=cfg.stop, reference=test, record_every=max(1, cfg.iterations // 200), progress=progress)  # fmt: skip
        results[method] = sol
        curves[method] = (sol.history.val_step, sol.history.val_psnr)
        best_at = max(range(len(sol.history.val_psnr)), key=sol.history.val_psnr.__getitem__)
        sweep = selection.get(method)
        metrics["methods"][method] = {
            "lam": sol.lam.tolist() if prior is not None else None,
            "lam_rule": None if sweep is None else sweep.criterion,
            "lam_psnr_by_grid_weight": None if sweep is None else dict(zip(map(str, sweep.lams), sweep.psnr.mean(1).tolist())),
            "best_grid_lam_psnr": None if sweep is None else float(sweep.psnr.mean(1).max()),
            "psnr_at": {str(s): _mean_psnr(sol.snapshots[s], test) for s in sorted(sol.snapshots)},
            "psnr_early_stop": _mean_psnr(sol.x, test),
            "early_stop": {
                "rule": sol.rule,
                "mean_iteration": float(sol.stopped_at.double().mean()),
                "stopped_before_budget": float(sol.stopped.double().mean()),
            },
            "best_iteration_in_hindsight": {"iteration": sol.history.val_step[best_at], "psnr": sol.history.val_psnr[best_at]},
            "seconds": sol.history.elapsed + (0.0 if sweep is None else sweep.seconds),
        }

    plot_curves(curves, out / "psnr_curves.png", title=f"{cfg.task}, sigma {cfg.sigma}: mean test PSNR",
                hlines={"corrupted": metrics["corrupted_psnr"]}, logx=True)  # fmt: skip
    if selection:
        plot_lam_sweep(selection, out / "lambda_selection.png",
                       title=f"prior weight (lam='auto'): PSNR at {cfg.iterations} iterations in hindsight, the rule's score")  # fmt: skip
    shown = list(range(min(4, test.shape[0])))
    cols, labels = [test, corrupted], ["original", "corrupted"]
    for method, sol in results.items():
        for s in sorted(sol.snapshots):
            cols.append(sol.snapshots[s])
            labels.append(f"{method}\n@{s}")
        cols.append(sol.x)
        labels.append(f"{method}\nstop ({sol.rule})")
    plot_image_grid([[col[i] for col in cols] for i in shown], out / "restorations.png", col_labels=labels,
                    row_labels=[f"test {i}" for i in shown], title=f"{cfg.task}, sigma {cfg.sigma}")  # fmt: skip
    write_json(out / "metrics.json", metrics)
    return metrics


def _corrupted_view(y: Tensor, op: Operator) -> Tensor:
    """The measurement shown as an image of the original size (nearest upsampling for super-resolution)."""
    if isinstance(op, Downsample):
        y = torch.nn.functional.interpolate(y, scale_factor=op.factor, mode="nearest")
    return y.clamp(0, 1)
