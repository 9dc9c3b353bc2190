"""Train autoencoder priors (plain and moment-matched) and write a report folder; :mod:`.restore` restores
images with them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError, InvalidDataError
from ..inverse import per_image_psnr
from ..io import load, save
from ..priors import AutoEncoder, PatchAutoEncoder, ks_uniform, latent_moments, ood_probes, pair_occupancy, probe_report
from ..training import StopAtPlateau, train_autoencoder, training_health
from ._report import write_json

__all__ = [
    "TrainPriorConfig",
    "train_prior",
    "load_priors",
    "split_indices",
    "PRIOR_NAMES",
]

PRIOR_NAMES = ("plain", "moment-matched")
"""The two autoencoders :func:`train_prior` writes (``<name>.safetensors``)."""



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
        patch: train :class:`~neuralfields.priors.PatchAutoEncoder` priors: the (square) images are patches,
            e.g. ``load_dataset("patches", size=8)``, and the priors then take images of any size.
        plateau_window: stop each training at a loss plateau (:class:`~neuralfields.training.StopAtPlateau`
            with this window, checked from half of ``steps`` on: an early flat stretch, before an autoencoder
            whose latent starts saturated begins to learn, is no plateau; ``steps`` is then the most it
            trains), or ``None`` to train all ``steps``.

    Example:
        >>> cfg = TrainPriorConfig.quick(latent_dim=4)
        >>> cfg.steps, cfg.plateau_window, cfg.width, cfg.latent_dim, cfg.moments
        (3000, 300, 16, 4, {'variance': 1.0, 'kurtosis': 1.0})
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
    patch: bool = False
    plateau_window: int | None = None

    @classmethod
    def quick(cls, **overrides: Any) -> TrainPriorConfig:
        """A preset that trains narrower autoencoders until their loss stops falling (at most 3000 steps):
        about half a minute for both on 2 CPU cores (the quality it reaches: ``docs/restore.rst``)."""
        return cls(**{"steps": 3000, "width": 16, "plateau_window": 300, **overrides})


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

    Example:
        The quick preset shrunk to seconds (8 images of 8x8, tiny autoencoders, 3 steps):

        >>> import neuralfields as nf, os, tempfile
        >>> images = nf.data.load_dataset("shapes", n=8, size=8)
        >>> out = tempfile.mkdtemp()
        >>> m = train_prior(images, out, TrainPriorConfig.quick(steps=3, width=4, latent_dim=2, batch_size=4), progress=False)
        >>> sorted(m["models"]), len(m["split"]["train"]), len(m["split"]["test"])
        (['moment-matched', 'plain'], 6, 2)
        >>> priors, heldout = load_priors(out)  # the two autoencoders, and the images they never saw
        >>> sorted(priors), heldout.tolist() == m["split"]["test"]
        (['moment-matched', 'plain'], True)
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
    if cfg.patch and h != w:
        raise InvalidDataError(f"patch priors train on square patches, got images of {h}x{w}")
    for name in PRIOR_NAMES:
        if cfg.patch:
            model: AutoEncoder = PatchAutoEncoder(h, channels=c, latent_dim=cfg.latent_dim, width=cfg.width, seed=cfg.seed)
        else:
            model = AutoEncoder((h, w), channels=c, latent_dim=cfg.latent_dim, width=cfg.width, seed=cfg.seed)
        weight = cfg.moment_weight if name == "moment-matched" else 0.0
        plateau = [StopAtPlateau(cfg.plateau_window, min_steps=cfg.steps // 2)] if cfg.plateau_window else []
        histories[name] = train_autoencoder(
            model, train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, moment_weight=weight,
            moments=cfg.moments, seed=cfg.seed, progress=progress, callbacks=plateau,
        )  # fmt: skip
        model.eval()
        save(model, out / f"{name}.safetensors")
        models[name] = model
        report = probe_report(model, probes, train)
        on_train, on_test = _coverage(model, train), _coverage(model, test)
        metrics_models[name] = {
            "moment_weight": weight,
            "train": on_train,
            "test": on_test,
            "final_loss": histories[name].loss[-1],
            "steps": len(histories[name].loss),
            "seconds": sum(histories[name].time),
            "health": training_health(histories[name].loss, on_train["reconstruction_psnr"], on_test["reconstruction_psnr"]),
            "probes": [r.row() for r in report],
        }
        plot_latent_pairs(
            model.encode(test).detach(), out / f"latents_{name}.png",
            labels=None if labels is None else labels[test_idx],
            markers={r.name: r.latent for r in report if r.name != "in-distribution"},
            title=f"{name} autoencoder: test latents (KS mean {metrics_models[name]['test']['ks_mean']:.3f}, "
            f"pair occupancy {metrics_models[name]['test']['pair_occupancy']:.2f})",
        )  # fmt: skip

    plot_curves({k: (list(range(1, len(v.loss) + 1)), v.loss) for k, v in histories.items()}, out / "loss.png", xlabel="step",
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


def load_priors(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], Tensor | None]:
    """The autoencoders a :func:`train_prior` report folder holds, and its held-out image indices.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = save(AutoEncoder((8, 8), latent_dim=2, width=4, seed=0), os.path.join(folder, "plain.safetensors"))
        >>> priors, heldout = load_priors(folder)
        >>> sorted(priors), type(priors["plain"]).__name__, heldout  # no metrics.json: no held-out indices
        (['plain'], 'AutoEncoder', None)
    """
    folder = Path(folder)
    found = {name: load(folder / f"{name}.safetensors") for name in PRIOR_NAMES if (folder / f"{name}.safetensors").exists()}
    if not found:
        raise ConfigError(f"no prior files ({', '.join(n + '.safetensors' for n in PRIOR_NAMES)}) in {folder}")
    heldout = None
    meta = folder / "metrics.json"
    if meta.exists():
        heldout = torch.tensor(json.loads(meta.read_text())["split"]["test"], dtype=torch.long)
    return found, heldout
