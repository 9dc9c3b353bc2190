"""Train autoencoder priors (plain and moment-matched) and restore images with them: two report folders."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError, InvalidDataError
from ..inverse import Denoise, Downsample, FieldSolver, Mask, MAPSolver, Operator, per_image_psnr
from ..io import load, save
from ..priors import AutoEncoder, ks_uniform, latent_moments, ood_probes, pair_occupancy, probe_report
from ..training import train_autoencoder
from ._report import write_json

__all__ = [
    "TrainPriorConfig",
    "train_prior",
    "RestoreConfig",
    "restore",
    "load_priors",
    "task_operator",
    "split_indices",
    "PRIOR_NAMES",
    "TASKS",
]

PRIOR_NAMES = ("plain", "moment-matched")
"""The two autoencoders :func:`train_prior` writes (``<name>.safetensors``)."""

TASKS = ("denoise", "inpaint", "superres")
"""The restoration tasks of :func:`restore`."""


def split_indices(n: int, test_fraction: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A fixed random split of ``n`` images into ``(train, test)`` index tensors (sorted)."""
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = max(1, round(n * test_fraction))
    if n - n_test < 2:
        raise InvalidDataError(f"{n} images are too few to split off {n_test} for testing")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_test:].sort().values, perm[:n_test].sort().values


def _mean_psnr(x: Tensor, ref: Tensor) -> float:
    """Mean over images of the per-image PSNR (dB)."""
    return float(per_image_psnr(x, ref).mean())


# ---- train-prior --------------------------------------------------------------------------------


@dataclass
class TrainPriorConfig:
    """Settings of :func:`train_prior`.

    Attributes:
        latent_dim: latent size of both autoencoders.
        width: channels of their first convolution.
        steps: training steps.
        batch_size: images per step (the moments are taken over this batch).
        lr: Adam's learning rate.
        moment_weight: weight of the moment-matching term of the ``"moment-matched"`` autoencoder.
        moments: which moments it matches, with their weights (default: variance and kurtosis).
        test_fraction: images held out of training (coverage and probes are measured on them too).
        seed: seed of the split, the initialisation and the batches.
    """

    latent_dim: int = 8
    width: int = 32
    steps: int = 3000
    batch_size: int = 128
    lr: float = 2e-3
    moment_weight: float = 0.1
    moments: dict[str, float] = field(default_factory=lambda: {"variance": 1.0, "kurtosis": 1.0})
    test_fraction: float = 0.2
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> TrainPriorConfig:
        """A preset that finishes in well under a minute on 2 CPU cores."""
        return cls(**{"steps": 600, "width": 16, **overrides})


def _coverage(model: AutoEncoder, images: Tensor) -> dict[str, Any]:
    with torch.no_grad():
        z = model.encode(images)
        ks = ks_uniform(z)
        moments = {k: [round(float(v), 4) for v in t] for k, t in latent_moments(z).items()}
        return {
            "ks_mean": float(ks.mean()),
            "ks_max": float(ks.max()),
            "pair_occupancy": pair_occupancy(z),
            "reconstruction_psnr": _mean_psnr(model(images), images),
            "moments": moments,
        }


def train_prior(
    images: Tensor,
    out: str | os.PathLike[str],
    config: TrainPriorConfig | None = None,
    *,
    labels: Tensor | None = None,
    other: Tensor | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a plain and a moment-matched autoencoder on the same images and compare their latent spaces.

    The report (``out``): ``plain.safetensors`` and ``moment-matched.safetensors``, ``loss.png``,
    ``latents_<name>.png`` (pairs of latent coordinates of the test images, coloured by class, with the
    out-of-distribution probes marked), ``probes.png`` (each probe and what each autoencoder makes of
    it), ``reconstructions.png`` and ``metrics.json`` (coverage: KS distance to the uniform per
    coordinate, pair occupancy, moments; probe table; the train/test split).

    Args:
        images: ``(N, C, H, W)`` in [0, 1], ``H`` and ``W`` divisible by 4.
        out: report folder (created).
        config: settings (default :class:`TrainPriorConfig`).
        labels: class per image ``(N,)`` to colour the scatter plots.
        other: an image of another domain ``(C, H, W)`` for the probes (default: a synthetic pattern).
        progress: progress bars.

    Returns:
        The metrics (also in ``metrics.json``).
    """
    from ..plots import plot_curves, plot_image_grid, plot_latent_pairs

    cfg = config or TrainPriorConfig()
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise InvalidDataError(f"images must be a tensor (N, C, H, W), got {getattr(images, 'shape', type(images))}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_idx, test_idx = split_indices(images.shape[0], cfg.test_fraction, cfg.seed)
    train, test = images[train_idx], images[test_idx]
    n, c, h, w = images.shape
    models, histories, metrics_models = {}, {}, {}
    probes = ood_probes(test, other=other, seed=cfg.seed)
    for name in PRIOR_NAMES:
        model = AutoEncoder((h, w), channels=c, latent_dim=cfg.latent_dim, width=cfg.width, seed=cfg.seed)
        weight = cfg.moment_weight if name == "moment-matched" else 0.0
        histories[name] = train_autoencoder(
            model, train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, moment_weight=weight,
            moments=cfg.moments, seed=cfg.seed, progress=progress,
        )  # fmt: skip
        model.eval()
        save(model, out / f"{name}.safetensors")
        models[name] = model
        report = probe_report(model, probes, train)
        metrics_models[name] = {
            "moment_weight": weight,
            "train": _coverage(model, train),
            "test": _coverage(model, test),
            "final_loss": histories[name].loss[-1],
            "seconds": sum(histories[name].time),
            "probes": [r.row() for r in report],
        }
        plot_latent_pairs(
            model.encode(test).detach(), out / f"latents_{name}.png",
            labels=None if labels is None else labels[test_idx],
            markers={r.name: r.latent for r in report if r.name != "in-distribution"},
            title=f"{name} autoencoder: test latents (KS mean {metrics_models[name]['test']['ks_mean']:.3f}, "
            f"pair occupancy {metrics_models[name]['test']['pair_occupancy']:.2f})",
        )  # fmt: skip

    steps = list(range(1, cfg.steps + 1))
    plot_curves({k: (steps, v.loss) for k, v in histories.items()}, out / "loss.png", xlabel="step",
                ylabel="reconstruction MSE", title="autoencoder training")  # fmt: skip
    with torch.no_grad():
        rows = [[probes[p]] + [models[k](probes[p][None])[0] for k in PRIOR_NAMES] for p in probes]
        plot_image_grid(rows, out / "probes.png", row_labels=list(probes), col_labels=["probe", *PRIOR_NAMES],
                        title="out-of-distribution probes and AE(probe)")  # fmt: skip
        shown = test[:8]
        plot_image_grid([list(shown)] + [list(models[k](shown)) for k in PRIOR_NAMES], out / "reconstructions.png",
                        row_labels=["test image", *PRIOR_NAMES], title="test reconstructions")  # fmt: skip
    metrics = {
        "config": asdict(cfg),
        "images": [n, c, h, w],
        "split": {"train": train_idx.tolist(), "test": test_idx.tolist()},
        "models": metrics_models,
    }
    write_json(out / "metrics.json", metrics)
    return metrics


# ---- restore ------------------------------------------------------------------------------------


@dataclass
class RestoreConfig:
    """Settings of :func:`restore`.

    Attributes:
        task: ``"denoise"``, ``"inpaint"`` (the bottom-right quarter hidden) or ``"superres"`` (factor 2).
        sigma: noise level of the measurements.
        iterations: the budget of every solve.
        snapshots: iterations whose iterates are reported.
        stop: the early-stopping rule (``"discrepancy"`` or ``"holdout"``); the early-stopping point is
            reported next to the snapshots.
        methods: which restorations to run: the prior names (``"plain"``, ``"moment-matched"``), ``"tv"``
            and ``"field"`` (a SIREN per image, no prior).
        lams: candidate prior weights per method; each method's weight is chosen by PSNR at the first
            snapshot on the validation images (never on the test images).
        validation: number of validation images (taken from the held-out images).
        test: number of test images (the rest of the held-out images, at most this many).
        map_lr: learning rate of the pixel (MAP) solver.
        field: the field solver's network config (see :class:`~neuralfields.inverse.FieldSolver`).
        field_lr: learning rate of the field solver.
        seed: seed of the noise and of the field networks.
    """

    task: str = "denoise"
    sigma: float = 0.1
    iterations: int = 10000
    snapshots: tuple[int, ...] = (1000, 10000)
    stop: str = "discrepancy"
    methods: tuple[str, ...] = ("plain", "moment-matched", "tv", "field")
    lams: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {"plain": (1.0, 3.0, 10.0, 30.0), "moment-matched": (1.0, 3.0, 10.0, 30.0),
                                 "tv": (0.03, 0.1, 0.3, 1.0, 3.0)}  # fmt: skip
    )
    validation: int = 32
    test: int = 128
    map_lr: float = 0.01
    field: dict[str, Any] = field(default_factory=lambda: {"hidden_features": 64, "hidden_layers": 3, "first_omega_0": 3.0})
    field_lr: float = 1e-4
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> RestoreConfig:
        """A preset that finishes in about a minute on 2 CPU cores."""
        base = {"iterations": 300, "snapshots": (100, 300), "validation": 8, "test": 16,
                "lams": {"plain": (3.0, 10.0), "moment-matched": (3.0, 10.0), "tv": (0.1, 1.0)}}  # fmt: skip
        return cls(**{**base, **overrides})


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

    The report (``out``): ``restorations.png`` (original / corrupted / each method at each snapshot and
    at its early-stopping point, a few test images), ``psnr_curves.png`` (mean test PSNR per iteration of
    each method, with the corrupted input's PSNR), ``lambda_selection.png`` and ``metrics.json``.

    Args:
        images: the image set ``(N, C, H, W)`` in [0, 1].
        out: report folder (created).
        config: settings (default :class:`RestoreConfig`).
        priors: name -> prior with an ``energy`` (e.g. the autoencoders of :func:`train_prior`), for the
            methods that name one.
        heldout: indices of the images the priors never saw; validation and test images come from them
            (default: all images).
        progress: progress bars.

    Returns:
        The metrics (also in ``metrics.json``).
    """
    from ..plots import plot_curves, plot_image_grid

    cfg = config or RestoreConfig()
    priors = dict(priors or {})
    if cfg.task not in TASKS:
        raise ConfigError(f"unknown task {cfg.task!r}; use one of {TASKS}")
    missing = [m for m in cfg.methods if m not in ("tv", "field") and m not in priors]
    if missing:
        raise ConfigError(f"no prior given for the methods {missing}; pass priors={{name: model}}")
    idx = torch.arange(images.shape[0]) if heldout is None else heldout
    if idx.numel() < 2:
        raise InvalidDataError("restore needs at least two held-out images (one to validate, one to test)")
    n_val = min(cfg.validation, idx.numel() // 2)
    val, test = images[idx[:n_val]], images[idx[n_val : n_val + cfg.test]]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    op = task_operator(cfg.task, tuple(images.shape[-2:]))
    y_val = op.measure(val, sigma=cfg.sigma, seed=cfg.seed)
    y_test = op.measure(test, sigma=cfg.sigma, seed=cfg.seed + 1)
    first = min(cfg.snapshots) if cfg.snapshots else cfg.iterations
    corrupted = _corrupted_view(y_test, op)

    metrics: dict[str, Any] = {
        "config": asdict(cfg),
        "images": {"validation": int(val.shape[0]), "test": int(test.shape[0]), "size": list(images.shape[1:])},
        "corrupted_psnr": _mean_psnr(corrupted, test),
        "methods": {},
    }
    curves, selection, results = {}, {}, {}
    for method in cfg.methods:
        solver, prior = _solver_for(method, cfg)
        prior = priors.get(method, prior)
        lams = cfg.lams.get(method, (0.0,)) if method != "field" else (0.0,)
        scores = {}
        if len(lams) > 1:
            for lam in lams:
                sol = solver(y_val, op, prior, sigma=cfg.sigma, lam=lam, steps=first, reference=val, progress=False)
                scores[lam] = _mean_psnr(sol.x, val)
            selection[method] = scores
        lam = max(scores, key=scores.get) if scores else lams[0]  # type: ignore[arg-type]
        sol = solver(y_test, op, prior, sigma=cfg.sigma, lam=lam, steps=cfg.iterations, snapshots=cfg.snapshots,
                     stop=cfg.stop, reference=test, record_every=max(1, cfg.iterations // 200), progress=progress)  # fmt: skip
        results[method] = sol
        curves[method] = (sol.history.val_step, sol.history.val_psnr)
        metrics["methods"][method] = {
            "lam": lam,
            "validation_psnr_by_lam": {str(k): v for k, v in scores.items()},
            "psnr_at": {str(s): _mean_psnr(sol.snapshots[s], test) for s in sorted(sol.snapshots)},
            "psnr_early_stop": _mean_psnr(sol.x, test),
            "early_stop": {
                "rule": sol.rule,
                "mean_iteration": float(sol.stopped_at.double().mean()),
                "stopped_before_budget": float(sol.stopped.double().mean()),
            },
            "seconds": sol.history.elapsed,
        }

    plot_curves(curves, out / "psnr_curves.png", title=f"{cfg.task}, sigma {cfg.sigma}: mean test PSNR",
                hlines={"corrupted": metrics["corrupted_psnr"]}, logx=True)  # fmt: skip
    if selection:
        plot_curves({m: (list(s), list(s.values())) for m, s in selection.items()}, out / "lambda_selection.png",
                    xlabel="lambda", ylabel=f"validation PSNR at {first} (dB)", title="prior weight", logx=True)  # fmt: skip
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


def load_priors(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], Tensor | None]:
    """The autoencoders a :func:`train_prior` report folder holds, and its held-out image indices."""
    folder = Path(folder)
    found = {name: load(folder / f"{name}.safetensors") for name in PRIOR_NAMES if (folder / f"{name}.safetensors").exists()}
    if not found:
        raise ConfigError(f"no prior files ({', '.join(n + '.safetensors' for n in PRIOR_NAMES)}) in {folder}")
    heldout = None
    meta = folder / "metrics.json"
    if meta.exists():
        heldout = torch.tensor(json.loads(meta.read_text())["split"]["test"], dtype=torch.long)
    return found, heldout
