"""Train HyperSirens (image -> SIREN weights) on an image set and study them: one report folder.

The study compares the heads of :class:`~neuralfields.HyperSiren` (conv encoder) on held-out images,
how many context pixels a set encoder needs, what the latent space holds (interpolations, samples),
and what a one-shot guess is worth next to fitting a SIREN per image with :func:`~neuralfields.fit`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive_int
from .._json import finite
from .._registry import available
from ..analysis import blend_distance, running_mean
from ..conditioning import HEADS, LATENTS, HyperSiren
from ..data import resize
from ..errors import ConfigError, FileFormatError, InvalidDataError, UnknownNameError
from ..io import load, save
from ..priors import moment_matching_loss
from ..training import HyperFitResult, fit_hyper, training_health
from ._report import write_json
from .hyper_context import context_study
from .hyper_finetune import finetune_study, psnr_of_mse
from .priors import split_indices

__all__ = ["HyperTrainConfig", "hyper_train"]


@dataclass
class HyperTrainConfig:
    """Settings of :func:`hyper_train`.

    Attributes:
        size: image size (the images are resized to ``size x size`` if they differ).
        n: use the first ``n`` images (``None``: all of them).
        test_fraction: images held out of every training (a fixed split, see
            :func:`~neuralfields.experiments.priors.split_indices`); every test figure is on them.
        heads: the heads to compare (each with the conv encoder): :data:`~neuralfields.conditioning.HEADS`
            or others registered under ``"hyper-head"``.
        encoder: encoder of the head comparison (``"conv"``).
        context_fractions: fractions of the pixels a set-encoder HyperSiren sees in the context study
            (one model trained per fraction, tested on random contexts of that fraction).
        context_head: head of the set-encoder models.
        context_latent: their codes (default ``"free"``: they are not sampled from, and with ``"sigmoid"``
            codes and moment matching the set encoder stayed at the mean image for the first thousand steps
            in our runs).
        context_lr: their learning rate (the set encoder learns more slowly than the conv encoder).
        latent_dim: latent code size.
        hidden_features: width of the emitted SIREN's sine layers.
        hidden_layers: number of its sine layers.
        encoder_width: width of the encoders.
        rank: rank of the ``"lowrank"`` head.
        steps: training steps of every HyperSiren.
        lr: Adam's learning rate.
        batch_size: images per step.
        latent: ``"sigmoid"`` (codes in ``[0, 1]^d``, so samples are defined) or ``"free"``.
        moment_weight: weight of :func:`~neuralfields.priors.moment_matching_loss` on ``"sigmoid"`` codes
            (pulls them towards ``U[0, 1]^d``, the distribution samples are drawn from; 0 turns it off;
            free codes are not moment-matched).
        interp_steps: frames per interpolation strip (both ends included).
        n_samples: images drawn from random codes for ``samples.png``.
        finetune_images: test images of the one-shot / from-scratch / fine-tune comparison.
        finetune_steps: :func:`~neuralfields.fit` steps of the from-scratch and fine-tune fits.
        seed: seed of the split, the initialisations, the batches, the contexts and the samples.

    Example:
        >>> cfg = HyperTrainConfig.quick()
        >>> cfg.n, cfg.steps, cfg.finetune_steps, cfg.heads
        (400, 600, 200, ('full', 'lowrank', 'film'))
        >>> cfg.check()  # every setting is valid
    """

    size: int = 16
    n: int | None = None
    test_fraction: float = 0.2
    heads: tuple[str, ...] = HEADS
    encoder: str = "conv"
    context_fractions: tuple[float, ...] = (0.1, 0.25, 1.0)
    context_head: str = "film"
    context_latent: str = "free"
    context_lr: float = 3e-3
    latent_dim: int = 32
    hidden_features: int = 32
    hidden_layers: int = 3
    encoder_width: int = 32
    rank: int = 4
    steps: int = 4000
    lr: float = 1e-3
    batch_size: int = 32
    latent: str = "sigmoid"
    moment_weight: float = 0.1
    interp_steps: int = 8
    n_samples: int = 16
    finetune_images: int = 4
    finetune_steps: int = 500
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> HyperTrainConfig:
        """A preset that finishes in one to two minutes on 2 CPU cores."""
        return cls(**{"n": 400, "steps": 600, "finetune_steps": 200, **overrides})

    def check(self) -> None:
        """Raise a :class:`~neuralfields.errors.ConfigError` (or ``UnknownNameError``) naming the first bad
        setting; :func:`hyper_train` checks before it trains or writes anything."""
        _check_config(self)


def _check_config(cfg: HyperTrainConfig) -> None:
    """Every setting, before anything is trained or written."""
    heads = (cfg.heads,) if isinstance(cfg.heads, str) else tuple(cfg.heads)
    if not heads:
        raise ConfigError(f"heads must name at least one head of {HEADS} (or a registered 'hyper-head')")
    names = available("hyper-head")
    for head in (*heads, cfg.context_head):
        if head not in names:
            raise UnknownNameError("head", str(head), names)
    if len(set(heads)) != len(heads):
        raise ConfigError(f"heads must not repeat, got {list(heads)}")
    if cfg.encoder != "conv":
        raise ConfigError(f"the head comparison uses encoder='conv' (whole images), got {cfg.encoder!r}; "
                          f"the set encoder is studied with context_fractions")  # fmt: skip
    for latent in (cfg.latent, cfg.context_latent):
        if latent not in LATENTS:
            raise UnknownNameError("latent", str(latent), LATENTS)
    fractions = tuple(cfg.context_fractions)
    if not all(isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f <= 1 for f in fractions):
        raise ConfigError(f"context_fractions must be numbers in (0, 1], got {list(fractions)}")
    if len(set(fractions)) != len(fractions):
        raise ConfigError(f"context_fractions must not repeat, got {list(fractions)}")
    for name in ("size", "latent_dim", "hidden_features", "hidden_layers", "encoder_width", "rank", "steps",
                 "batch_size", "n_samples", "finetune_images", "finetune_steps"):  # fmt: skip
        check_positive_int(name, getattr(cfg, name))
    if cfg.n is not None:
        check_positive_int("n", cfg.n)
    if not isinstance(cfg.interp_steps, int) or cfg.interp_steps < 2:
        raise ConfigError(f"interp_steps must be an int >= 2, got {cfg.interp_steps!r}")
    for name in ("lr", "context_lr"):
        value = getattr(cfg, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ConfigError(f"{name} must be positive, got {value!r}")
    if not isinstance(cfg.moment_weight, (int, float)) or not cfg.moment_weight >= 0:
        raise ConfigError(f"moment_weight must be >= 0, got {cfg.moment_weight!r}")
    if not isinstance(cfg.test_fraction, (int, float)) or not 0 < cfg.test_fraction < 1:
        raise ConfigError(f"test_fraction must be in (0, 1), got {cfg.test_fraction!r}")


@torch.no_grad()
def _set_psnr(model: HyperSiren, images: Tensor, batch_size: int) -> float:
    """PSNR of the pooled squared error of ``model``'s one-shot reconstructions of ``images`` (as
    :func:`~neuralfields.training.fit_hyper` reports its test PSNR)."""
    total = 0.0
    for s in range(0, images.shape[0], batch_size):
        x = images[s : s + batch_size]
        total += float(((model(x).double() - x.double()) ** 2).sum())
    return psnr_of_mse(total / images.numel())


def _model(cfg: HyperTrainConfig, shape: tuple[int, int], channels: int, head: str, encoder: str, latent: str) -> HyperSiren:
    return HyperSiren(
        shape, channels, latent_dim=cfg.latent_dim, encoder=encoder, head=head, rank=cfg.rank,
        hidden_features=cfg.hidden_features, hidden_layers=cfg.hidden_layers, encoder_width=cfg.encoder_width,
        latent=latent, seed=cfg.seed,
    )  # fmt: skip


def _train(model: HyperSiren, train: Tensor, test: Tensor, cfg: HyperTrainConfig, progress: bool, lr: float,
           context_fraction: float | None = None) -> HyperFitResult:  # fmt: skip
    weight = cfg.moment_weight if model.latent == "sigmoid" else 0.0
    return fit_hyper(
        model, train, steps=cfg.steps, lr=lr, batch_size=cfg.batch_size, context_fraction=context_fraction,
        latent_loss=moment_matching_loss if weight > 0 else None, moment_weight=weight,
        seed=cfg.seed, test_images=test, eval_every=max(1, cfg.steps // 20), progress=progress,
    )  # fmt: skip


def hyper_train(
    images: Tensor, out: str | os.PathLike[str], config: HyperTrainConfig | None = None, *, progress: bool = True
) -> dict[str, Any]:
    """Train HyperSirens on an image set, test them on held-out images and write a report folder.

    What it does, all on a fixed train / test split (the test images are never trained on):

    1. **Heads**: one :class:`~neuralfields.HyperSiren` per head of ``config.heads`` (conv encoder,
       the same seed, steps and recipe; the codes moment-matched to ``U[0, 1]^d`` with weight
       ``config.moment_weight``), trained with :func:`~neuralfields.training.fit_hyper`. The best
       head by test PSNR is saved (``hyper.safetensors``, checked to load back with
       :func:`neuralfields.load` and to give the same outputs) and used for steps 3 to 5.
    2. **Context pixels**: a set-encoder HyperSiren (head ``config.context_head``, codes
       ``config.context_latent``, learning rate ``config.context_lr``) per fraction of
       ``config.context_fractions``, trained on fresh random contexts of that fraction of the pixels every
       step (the loss on every pixel) and tested on a fixed random context of each test image.
    3. **Interpolation**: for two pairs of test images, the decodings of ``(1 - a) z0 + a z1`` at twice the
       resolution, and their blend distance (:func:`~neuralfields.analysis.blend_distance`: RMS distance
       of the frames from the alpha blends of the end frames; 0 is "just cross-fading").
    4. **Samples**: ``model.sample(n_samples)`` at twice the resolution.
    5. **One-shot vs fitting**, on the first ``config.finetune_images`` test images:
       (a) ``one_shot``: the hypernetwork's reconstruction (encode + decode, no per-image optimisation;
       ``seconds`` is that inference time; its training time is reported per head, amortised over every
       image it will ever see); (b) ``scratch``: :func:`~neuralfields.fit` of a :class:`~neuralfields.Siren`
       of the emitted architecture (``model.target``'s config, backend ``"auto"``) from the reference
       initialisation; (c) ``finetune``: the same fit started from the exported SIREN
       (``model.export(image)``). (b) and (c) use the same recipe (``nf.fit``'s defaults, full batch) for
       ``finetune_steps`` steps and the same network and backend, so they get the same budget in steps
       and, to measurement noise, in wall time (``seconds``, measured). Also reported: how many steps and
       seconds (b) needs to reach the one-shot PSNR (``steps_to_one_shot``; ``None``: not within the
       budget), (c) to reach (b)'s final PSNR (``steps_to_scratch_final``), and the mean PSNR of (b) and
       (c) after 1, 3, 10, 30, ... steps (``psnr_at``). The PSNR of a fit after ``j`` steps is on every
       pixel (the fits are full-batch); small images are memorised far beyond what the eye can tell apart
       (PSNRs above ~60 dB only measure float32 rounding), so the early steps are what tells the methods apart.

    The report (``out``): ``hyper.safetensors``, ``curves.png`` (train and test PSNR per step of each
    head), ``reconstructions.png`` (test images and each head's one-shot reconstruction), ``context.png``
    (rows: test images; columns: the context and the reconstruction per fraction, then the truth),
    ``interpolation.png``, ``samples.png``, ``finetune.png`` (mean PSNR against wall time of (b) and (c),
    the one-shot PSNR as a line) and ``metrics.json``.

    Args:
        images: ``(N, C, H, W)`` in [0, 1] (resized to ``config.size`` if needed; the first ``config.n``);
            everything runs on the CPU.
        out: report folder (created).
        config: settings (default :class:`HyperTrainConfig`).
        progress: progress bars.

    Returns:
        The metrics (also in ``metrics.json``).

    Example:
        The quick preset shrunk to seconds (12 images of 8x8, one head, one context fraction, 2 steps):

        >>> import neuralfields as nf, os, tempfile
        >>> images = nf.data.load_dataset("shapes", n=12, size=8)
        >>> cfg = HyperTrainConfig.quick(n=12, size=8, steps=2, batch_size=4, latent_dim=4, hidden_features=8, hidden_layers=1,
        ...                              encoder_width=4, heads=("full",), context_fractions=(1.0,), n_samples=2,
        ...                              finetune_images=1, finetune_steps=2, interp_steps=2)
        >>> out = tempfile.mkdtemp()
        >>> m = hyper_train(images, out, cfg, progress=False)
        >>> m["images"], m["best_head"], len(m["split"]["test"]), "test_psnr" in m["heads"]["full"]
        ([12, 1, 8, 8], 'full', 2, True)
        >>> sorted(os.listdir(out))
        ['context.png', 'curves.png', 'finetune.png', 'hyper.safetensors', 'interpolation.png', 'metrics.json',
         'reconstructions.png', 'samples.png']
    """
    from ..plots import plot_curves, plot_image_grid

    cfg = config or HyperTrainConfig()
    _check_config(cfg)
    if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise InvalidDataError(f"images must be a float tensor (N, C, H, W), got {getattr(images, 'shape', type(images))}")
    images = images.detach().cpu()  # the models are small: the study runs on the CPU
    if cfg.n is not None:
        images = images[: cfg.n]
    if tuple(images.shape[-2:]) != (cfg.size, cfg.size):
        images = torch.stack([resize(im, cfg.size) for im in images])
    n, c, h, w = images.shape
    train_idx, test_idx = split_indices(n, cfg.test_fraction, cfg.seed)
    if test_idx.numel() < 2:
        raise InvalidDataError(f"{n} images with test_fraction {cfg.test_fraction} leave {test_idx.numel()} test image; "
                               f"the report needs at least 2 (use more images or a larger test_fraction)")  # fmt: skip
    train, test = images[train_idx], images[test_idx]
    heads = (cfg.heads,) if isinstance(cfg.heads, str) else tuple(cfg.heads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    big = (2 * h, 2 * w)

    # 1. heads
    models: dict[str, HyperSiren] = {}
    results: dict[str, HyperFitResult] = {}
    head_metrics: dict[str, Any] = {}
    for head in heads:
        model = _model(cfg, (h, w), c, head, cfg.encoder, cfg.latent)
        results[head] = res = _train(model, train, test, cfg, progress, cfg.lr)
        models[head] = model.eval()
        on_train = _set_psnr(model, train, cfg.batch_size)
        head_metrics[head] = {
            "test_psnr": res.test_psnr_final,
            "train_psnr": on_train,
            "health": training_health([10 ** (-p / 10) for p in res.train_psnr], on_train, res.test_psnr_final),
            "parameters": sum(p.numel() for p in model.parameters()),
            "head_parameters": sum(p.numel() for p in model.head.parameters()),
            "seconds_per_step": res.time_per_step,
            "seconds": res.time_per_step * res.steps,
        }
    best = max(heads, key=lambda k: head_metrics[k]["test_psnr"])
    model = models[best]
    path = save(model, out / "hyper.safetensors")
    with torch.no_grad():
        diff = float((load(path)(test) - model(test)).abs().max())
    if diff > 1e-5:
        raise FileFormatError(f"{path} does not reproduce the model it was saved from (max difference {diff:.3g})")

    window = max(1, cfg.steps // 50)
    curves = {}
    for head, res in results.items():
        curves[f"{head}: train (batch, mean of {window})"] = (range(1, res.steps + 1), running_mean(res.train_psnr, window))
        curves[f"{head}: test"] = (res.test_step, res.test_psnr)
    plot_curves(curves, out / "curves.png", xlabel="step",
                title=f"HyperSiren heads ({cfg.encoder} encoder): {len(train)} train, {len(test)} test images {h}x{w}")  # fmt: skip
    shown = test[: min(8, len(test))]
    with torch.no_grad():
        plot_image_grid([list(shown)] + [list(models[k](shown)) for k in heads], out / "reconstructions.png",
                        row_labels=["test image", *[f"{k}\n{head_metrics[k]['test_psnr']:.2f} dB" for k in heads]],
                        title="held-out images and one-shot reconstructions")  # fmt: skip

    # 2. context pixels
    def train_set_model(fraction: float) -> tuple[HyperSiren, HyperFitResult]:
        set_model = _model(cfg, (h, w), c, cfg.context_head, "set", cfg.context_latent)
        return set_model, _train(set_model, train, test, cfg, progress, cfg.context_lr, context_fraction=fraction)

    context, context_model = context_study(cfg, train_set_model, test[: min(4, len(test))], (h, w), out)

    # 3. interpolation
    pairs = [(2 * p, 2 * p + 1) for p in range(2) if 2 * p + 1 < len(test)]
    alphas = torch.linspace(0.0, 1.0, cfg.interp_steps)
    strips, strip_labels, interp = [], [], []
    with torch.no_grad():
        z = model.encode(test)
        for a, b in pairs:
            zs = (1 - alphas[:, None]) * z[a] + alphas[:, None] * z[b]
            raw = model.decode(zs, big, clamp=False)
            dist = blend_distance(raw, alphas)
            ends = raw.clamp(0, 1)
            cross = (1 - alphas[:, None, None, None]) * ends[0] + alphas[:, None, None, None] * ends[-1]
            strips += [list(ends), list(cross)]
            strip_labels += [f"test {a} -> {b}\nlatent\n(blend dist {dist:.3f})", "pixel\ncross-fade"]
            interp.append({"test_images": [a, b], "indices": [int(test_idx[a]), int(test_idx[b])], "blend_distance": dist})
    plot_image_grid(strips, out / "interpolation.png", row_labels=strip_labels,
                    col_labels=[f"a = {float(x):.2f}" for x in alphas],
                    title=f"decoding (1 - a) z0 + a z1 at {big[0]}x{big[1]} ({best} head) vs a pixel cross-fade")  # fmt: skip

    # 4. samples
    samples = model.sample(cfg.n_samples, seed=cfg.seed, shape=big)
    per_row = min(8, cfg.n_samples)
    plot_image_grid([list(samples[s : s + per_row]) for s in range(0, cfg.n_samples, per_row)], out / "samples.png",
                    title=f"samples: random codes ({'U[0, 1]' if cfg.latent == 'sigmoid' else 'N(0, 1)'}), "
                    f"{best} head, {big[0]}x{big[1]}")  # fmt: skip

    # 5. one-shot vs fitting a SIREN
    k = min(cfg.finetune_images, len(test))
    table, mean_curves = finetune_study(model, test[:k], cfg.finetune_steps, cfg.seed, progress)
    table["images"] = test_idx[:k].tolist()
    table["head"] = best
    table["hyper_train_seconds"] = head_metrics[best]["seconds"]
    ms = {kind: ([1000 * t for t in x], y) for kind, (x, y) in mean_curves.items()}
    plot_curves({"nf.fit from scratch (SIREN init)": ms["scratch"], "nf.fit from the one-shot guess": ms["finetune"]},
                out / "finetune.png", xlabel="wall time of the fit (ms; linear to 10, then log)",
                ylabel="PSNR (dB), mean over images", hlines={"one-shot (hypernetwork)": table["one_shot"]["psnr"]},
                title=f"{k} test images {h}x{w}, {cfg.finetune_steps} steps of nf.fit each ({best} head)", logx=True)  # fmt: skip

    metrics: dict[str, Any] = {
        "config": asdict(cfg),
        "images": [n, c, h, w],
        "split": {"train": train_idx.tolist(), "test": test_idx.tolist()},
        "heads": head_metrics,
        "best_head": best,
        "context": context,
        "context_model": context_model,
        "interpolation": interp,
        "samples": {"n": cfg.n_samples, "shape": list(big), "latent": cfg.latent},
        "finetune": table,
    }
    metrics = finite(metrics)
    write_json(out / "metrics.json", metrics)
    return metrics
