"""Memorise a set of images with one conditioned field, then study what it learned (one report folder)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _registry
from ..analysis import PLACES, interpolate, item_embeddings, select_pairs, similarity_matrix, upsampling_table
from ..conditioning import ConditionedField
from ..errors import ConfigError, InvalidDataError
from ..fields import BottleneckSiren, Siren
from ..io import save
from ..training import augmentation, fit_dataset, psnr, training_health
from ._report import write_json, write_run

__all__ = ["MemorizeConfig", "memorize"]


@dataclass
class MemorizeConfig:
    """Settings of :func:`memorize` (defaults close to the seeds' setting: 100 small images).

    Attributes:
        conditioning: ``"index"``, ``"binary"`` or ``"latent"`` (any registered conditioning name).
        base_width: width of the sine layers at ``width_multiple=1``.
        width_multiple: the field's width is ``base_width * width_multiple`` (the seeds compare 1, 10, 50).
        hidden_layers: sine layers (5 with a bottleneck).
        bottleneck: if set, a :class:`~neuralfields.BottleneckSiren` whose middle layer is this many times narrower.
        latent_dim: code size of ``"latent"`` conditioning.
        latent_mode: ``"concat"``, ``"film"`` or ``"shift"``.
        factor: the field trains at the images' size divided by ``factor`` and is rendered back at full
            size for the upsampling table (1 for no upsampling study).
        steps: training steps.
        lr: learning rate (``None``: the library default).
        holdout: fraction of each image's pixels held out.
        pixels_per_item: training pixels per image per step (``None``: all).
        augment: train with flips, small rotations, crops and colour jitter.
        snapshot_items: how many images to show in the snapshot grid.
        pairs: how many similar / dissimilar pairs to show.
        embedding_place: where embeddings for the pair selection come from.
        metric: similarity metric.
        interp_steps: frames per interpolation strip.
        seed: seed of everything random.

    Example:
        >>> cfg = MemorizeConfig.quick(base_width=16)
        >>> cfg.steps, cfg.pixels_per_item, cfg.conditioning, cfg.base_width * cfg.width_multiple
        (300, None, 'binary', 16)
    """

    conditioning: str = "binary"
    base_width: int = 32
    width_multiple: int = 1
    hidden_layers: int = 3
    bottleneck: int | None = None
    latent_dim: int = 32
    latent_mode: str = "film"
    factor: int = 2
    steps: int = 2000
    lr: float | None = None
    holdout: float = 0.1
    pixels_per_item: int | None = 256
    augment: bool = False
    snapshot_items: int = 4
    pairs: int = 4
    embedding_place: str = "last_hidden"
    metric: str = "cosine"
    interp_steps: int = 8
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> MemorizeConfig:
        """A preset that finishes in a few minutes on 2 CPU cores."""
        return cls(**{"steps": 300, "pixels_per_item": None, **overrides})


def _build(cfg: MemorizeConfig, n: int, channels: int) -> ConditionedField:
    kwargs: dict[str, Any] = {"num_items": n}
    if cfg.conditioning == "latent":
        kwargs.update(dim=cfg.latent_dim, mode=cfg.latent_mode, seed=cfg.seed)
    cond = _registry.create("conditioning", cfg.conditioning, **kwargs)
    width = cfg.base_width * cfg.width_multiple
    in_features = 2 + cond.extra_features
    if cfg.bottleneck:
        inner: Siren = BottleneckSiren(in_features, channels, width, max(cfg.hidden_layers, 3), cfg.bottleneck, seed=cfg.seed)
    else:
        inner = Siren(in_features, channels, width, cfg.hidden_layers, seed=cfg.seed)
    return ConditionedField(inner, cond)


def memorize(
    images: Tensor,
    out: str | os.PathLike[str],
    config: MemorizeConfig | None = None,
    *,
    data: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train one conditioned field on a set of images and write a report folder.

    The report (``out``): ``field.safetensors``, ``curves.png`` (train / held-out PSNR),
    ``snapshots.png`` (chosen images during training), ``upsampling.png`` (low-res input, bicubic,
    field, truth), ``pairs_similar.png`` and ``pairs_dissimilar.png`` (by embedding similarity),
    ``interpolation.png`` (one strip per place), and ``metrics.json`` with every figure.

    Args:
        images: ``(N, C, H, W)`` in [0, 1]: the truth at full size; the field trains on them downsampled
            by ``config.factor``.
        out: report folder (created).
        config: settings (default :class:`MemorizeConfig`).
        data: how the images were loaded (e.g. the arguments of :func:`~neuralfields.data.load_dataset`);
            when given, ``run.json`` records it with the config, so ``neuralfields memorize --config``
            runs the report again.
        progress: progress bar.

    Returns:
        The metrics (also written to ``metrics.json``).

    Example:
        The quick preset shrunk to seconds (4 images of 8x8, a narrow field, 5 steps, no upsampling study):

        >>> import neuralfields as nf, os, tempfile
        >>> images = nf.data.load_dataset("shapes", n=4, size=8)
        >>> cfg = MemorizeConfig.quick(steps=5, base_width=8, factor=1, snapshot_items=2, pairs=1, interp_steps=2)
        >>> out = tempfile.mkdtemp()
        >>> m = memorize(images, out, cfg, progress=False)
        >>> m["images"], m["steps"], len(m["item_psnr"]), sorted(m["interpolation"]["blend_distance"])
        ([4, 1, 8, 8], 5, 4, ['conditioning', 'last_hidden'])
        >>> sorted(os.listdir(out))
        ['curves.png', 'field.safetensors', 'interpolation.png', 'metrics.json', 'pairs_dissimilar.png',
         'pairs_similar.png', 'snapshots.png']
        >>> nf.load(os.path.join(out, "field.safetensors")).num_items
        4
    """
    from ..plots import plot_history, plot_image_grid

    cfg = config or MemorizeConfig()
    if images.dim() != 4 or images.shape[0] < 2:
        raise InvalidDataError(f"memorize needs at least two images (N, C, H, W), got {tuple(images.shape)}")
    if not isinstance(cfg.factor, int) or cfg.factor < 1 or images.shape[2] % cfg.factor or images.shape[3] % cfg.factor:
        raise ConfigError(f"factor must be a positive int dividing the image size {tuple(images.shape[2:])}, got {cfg.factor!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if data is not None:
        write_run(out, "memorize", cfg, data)
    n, c, hh, ww = images.shape
    low = F.avg_pool2d(images, cfg.factor) if cfg.factor > 1 else images
    h, w = low.shape[2:]
    model = _build(cfg, n, c)
    shown = list(range(min(cfg.snapshot_items, n)))
    marks = sorted({max(1, cfg.steps // 10), max(1, cfg.steps // 3), cfg.steps})
    res = fit_dataset(
        model, low, steps=cfg.steps, lr=cfg.lr, holdout=cfg.holdout, pixels_per_item=cfg.pixels_per_item,
        eval_every=max(1, cfg.steps // 20), seed=cfg.seed, snapshot_items=shown, snapshot_steps=marks,
        augment=augmentation((h, w)) if cfg.augment else None, progress=progress,
    )  # fmt: skip
    save(model, out / "field.safetensors")
    title = f"{cfg.conditioning} conditioning, width {cfg.base_width * cfg.width_multiple}, {n} images {h}x{w}"
    plot_history(res.history, out / "curves.png", title=title)
    plot_image_grid(
        [[low[i]] + [res.snapshots[i][s] for s in marks] for i in shown],
        out / "snapshots.png", row_labels=[f"item {i}" for i in shown],
        col_labels=["target"] + [f"step {s}" for s in marks], title="snapshots",
    )  # fmt: skip

    metrics: dict[str, Any] = {
        "config": asdict(cfg),
        "images": [n, c, hh, ww],
        "trained_at": [h, w],
        "parameters": sum(p.numel() for p in model.parameters()),
        **res.summary(),
        "mean_image_psnr": psnr(low.mean((2, 3), keepdim=True).expand_as(low), low),
        "health": training_health(res.history.loss, res.psnr, res.val_psnr),
    }
    if cfg.factor > 1:
        table = upsampling_table(model, low, images)
        metrics["upsampling"] = {"size": [hh, ww], "mean": table["mean"], "rows": table["rows"]}
        rows = [[F.interpolate(low[i : i + 1], size=(hh, ww), mode="nearest")[0], table["bicubic"][i], table["renders"][i], images[i]] for i in shown]
        plot_image_grid(rows, out / "upsampling.png", row_labels=[f"item {i}" for i in shown],
                        col_labels=[f"input {h}x{w}", "bicubic", "field", f"truth {hh}x{ww}"], title="upsampling")  # fmt: skip

    place = cfg.embedding_place
    emb = item_embeddings(model, place=place, shape=(h, w))
    sim = similarity_matrix(emb, cfg.metric)
    pair_sets = {}
    for most in ("similar", "dissimilar"):
        pairs = select_pairs(sim, cfg.pairs, most=most, unique=True)
        pair_sets[most] = [{"items": [i, j], "similarity": s} for i, j, s in pairs]
        if pairs:
            plot_image_grid([[low[i], low[j]] for i, j, _ in pairs], out / f"pairs_{most}.png",
                            row_labels=[f"{i} & {j}: {s:.3f}" for i, j, s in pairs],
                            title=f"most {most} ({cfg.metric}, {place})")  # fmt: skip
    metrics["pairs"] = {"place": place, "metric": cfg.metric, **pair_sets}

    a, b = (pair_sets["dissimilar"][0]["items"] if pair_sets["dissimilar"] else [0, 1])
    places = [p for p in PLACES if _has_place(model, p)]
    strips, distances = [], {}
    for p in places:
        result = interpolate(model, a, b, place=p, shape=(hh, ww), steps=cfg.interp_steps)
        strips.append(list(result.frames))
        distances[p] = result.blend_distance
    alphas = [f"alpha {float(x):.2f}" for x in torch.linspace(0, 1, cfg.interp_steps)]
    plot_image_grid(strips, out / "interpolation.png", row_labels=[f"{p}\nblend dist {distances[p]:.3f}" for p in places],
                    col_labels=alphas, title=f"interpolating items {a} and {b}")  # fmt: skip
    metrics["interpolation"] = {"items": [a, b], "blend_distance": distances}
    metrics["history"] = res.history.as_dict()
    write_json(out / "metrics.json", metrics)
    return metrics


def _has_place(model: ConditionedField, place: str) -> bool:
    from ..analysis.places import layer_of

    try:
        layer_of(model, place)
    except ConfigError:
        return False
    return True

