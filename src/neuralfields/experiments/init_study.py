"""Is it worth starting a field from somewhere else? The initialisation study (one report folder).

For ``n`` triples ``(A, B, C)`` of distinct images (``B`` of ``A``'s class, ``C`` of another), every
strategy starts a field that is then fitted to ``A``; the PSNR on ``A`` is recorded at every step, at
every model size of a grid. A grid point's triples and strategies run as one batched fit
(:func:`~neuralfields.fit_many`, each member from its own start). The strategies:

- ``paper``: the reference (random) initialisation, one seed per triple;
- ``weight-scaling``: the same draw with the bounds times ``alpha``;
- ``prefit-same`` / ``prefit-other``: the paper start fitted to ``B`` / ``C`` first;
- ``meta``: a starting point meta-learned (:func:`~neuralfields.training.meta_learn`) on the images that
  are in no triple;
- ``shared-encoder``: shared layers trained on a seeded random subset of the images that are in no triple
  (:func:`~neuralfields.training.train_shared_encoder`), with each triple's own paper head.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._progress import progress_bar
from ..analysis.curves import capped_auc, crossover_step, make_triples, steps_to
from ..errors import ConfigError, InvalidDataError
from ..fields import Siren
from ..plots import plot_band_panels, plot_box_groups
from ..training import fit_many, meta_learn, start_from, train_shared_encoder
from ..training.init import WeightScalingInit
from ._report import write_json, write_run

__all__ = ["InitStudyConfig", "init_study", "STRATEGIES", "PROTOCOLS", "FULL_GRID"]

STRATEGIES = ("paper", "weight-scaling", "prefit-same", "prefit-other", "meta", "shared-encoder")
"""The strategies the study compares (see the module docs)."""

PROTOCOLS: dict[str, dict[str, Any]] = {
    "library": {"lr": 1e-3, "schedule": "cosine", "min_lr_ratio": 0.01, "batch_size": 16384, "steps": 500},
    "prefit-study": {"lr": 1e-4, "schedule": "constant", "min_lr_ratio": 1.0, "batch_size": None, "steps": 2000},
}
"""The fitting recipes: ``"library"`` is :func:`~neuralfields.fit`'s default recipe; ``"prefit-study"`` the
public study's (Adam 1e-4, full batch, constant rate, 2000 steps)."""

FULL_GRID = {"layers": (2, 3, 4, 5, 6, 7, 8), "widths": (32, 64, 128, 256, 512, 1024)}
"""The public study's grid of hidden layers and widths."""


@dataclass
class InitStudyConfig:
    """Settings of :func:`init_study`.

    Attributes:
        protocol: the fitting recipe, a key of :data:`PROTOCOLS`.
        layers, widths: the grid of model sizes (sine layers x width).
        triples: number of (A, B, C) triples.
        steps: fitting steps on A (``None``: the protocol's).
        prefit_steps: steps of the pre-fit on B or C (``None``: as ``steps``).
        alpha: the weight-scaling factor.
        meta_algorithm, meta_steps, meta_inner_steps, meta_batch, meta_lr: the meta-learning (its inner
            loop is the protocol's optimiser, Adam at the protocol's rate).
        encoder_signals, encoder_steps: images and steps of the shared encoder.
        strategies: the strategies to compare (``"paper"`` always runs: the others are read against it).
        cap: the PSNR cap (dB) of the area under the curve.
        level: the PSNR (dB) of "steps to" (time to quality).
        seed: seed of the triples and initialisations.

    Example:
        >>> cfg = InitStudyConfig.quick()
        >>> cfg.layers, cfg.widths, cfg.triples, cfg.recipe()["steps"]
        ((2, 4), (32, 64, 128), 5, 500)
    """

    protocol: str = "library"
    layers: tuple[int, ...] = (2, 3, 5)
    widths: tuple[int, ...] = (32, 64, 128, 256)
    triples: int = 10
    steps: int | None = None
    prefit_steps: int | None = None
    alpha: float = 2.5
    meta_algorithm: str = "reptile"
    meta_steps: int = 300
    meta_inner_steps: int = 5
    meta_batch: int = 8
    meta_lr: float = 1e-3
    encoder_signals: int = 10
    encoder_steps: int = 500
    strategies: tuple[str, ...] = STRATEGIES
    cap: float = 60.0
    level: float = 30.0
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> InitStudyConfig:
        """A grid for 2 CPU cores (a few minutes with the library's recipe)."""
        base = {"layers": (2, 4), "widths": (32, 64, 128), "triples": 5, "meta_steps": 150, "encoder_steps": 300, "steps": None}
        return cls(**{**base, **overrides})

    def recipe(self) -> dict[str, Any]:
        """The protocol's fitting arguments (``steps`` resolved)."""
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}; use one of {tuple(PROTOCOLS)}")
        recipe = dict(PROTOCOLS[self.protocol])
        recipe["steps"] = recipe["steps"] if self.steps is None else self.steps
        return recipe

    def check(self) -> None:
        self.recipe()
        unknown = sorted(set(self.strategies) - set(STRATEGIES))
        if unknown:
            raise ConfigError(f"unknown strategies {unknown}; use some of {STRATEGIES}")
        if not self.layers or not self.widths or min(self.layers) < 1 or min(self.widths) < 1:
            raise ConfigError(f"the grid needs positive layers and widths, got {self.layers} x {self.widths}")


def _params(layers: int, width: int, channels: int) -> int:
    widths = [2] + [width] * layers + [channels]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def _starts(cfg: InitStudyConfig, images: Tensor, triples: list, train: Tensor, layers: int, width: int,
            progress: bool) -> tuple[dict[str, list], dict[str, float]]:  # fmt: skip
    """Every strategy's start for every triple, and the seconds each preparation took."""
    channels, recipe = images.shape[1], cfg.recipe()
    fit_args = {k: recipe[k] for k in ("lr", "schedule", "min_lr_ratio", "batch_size")}
    paper = [Siren(2, channels, width, hidden_layers=layers, seed=cfg.seed + 1 + t) for t in range(len(triples))]
    starts: dict[str, list] = {"paper": paper}
    seconds: dict[str, float] = {}
    wanted = set(cfg.strategies)
    if "weight-scaling" in wanted:
        starts["weight-scaling"] = [WeightScalingInit(cfg.alpha, seed=cfg.seed + 1 + t)(copy.deepcopy(f)) for t, f in enumerate(paper)]
    which = [k for k in ("prefit-same", "prefit-other") if k in wanted]
    if which:
        t0 = time.perf_counter()
        others = [images[[tr[1] if k == "prefit-same" else tr[2] for tr in triples]] for k in which]
        steps = cfg.prefit_steps or recipe["steps"]
        res = fit_many(paper * len(which), torch.cat(others), steps=steps, progress=progress, **fit_args)
        for j, k in enumerate(which):
            starts[k] = [res.field(j * len(paper) + t) for t in range(len(paper))]
            seconds[k] = (time.perf_counter() - t0) / len(which)
    template = Siren(2, channels, width, hidden_layers=layers, seed=cfg.seed)
    if "meta" in wanted:
        t0 = time.perf_counter()
        meta = meta_learn(template, images[train], algorithm=cfg.meta_algorithm, steps=cfg.meta_steps,
                          inner_steps=cfg.meta_inner_steps, inner_lr=recipe["lr"], meta_batch=min(cfg.meta_batch, len(train)),
                          lr=cfg.meta_lr, seed=cfg.seed, progress=progress)  # fmt: skip
        starts["meta"] = [copy.deepcopy(meta.field) for _ in paper]
        seconds["meta"] = time.perf_counter() - t0
    if "shared-encoder" in wanted:
        t0 = time.perf_counter()
        pick = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.encoder_signals]]
        enc = train_shared_encoder(template, images[pick], steps=cfg.encoder_steps, seed=cfg.seed, progress=progress,
                                   **fit_args)  # fmt: skip
        starts["shared-encoder"] = [start_from(copy.deepcopy(f), enc.field, enc.shared) for f in paper]
        seconds["shared-encoder"] = time.perf_counter() - t0
    return {k: starts[k] for k in STRATEGIES if k in starts}, seconds


def _mean_std(curves: list[list[float]], cap: float) -> tuple[list[float], list[float]]:
    t = torch.tensor([[min(v, cap) for v in c] for c in curves], dtype=torch.float64)
    std = t.std(0) if t.shape[0] > 1 else torch.zeros(t.shape[1], dtype=torch.float64)
    return [round(v, 3) for v in t.mean(0).tolist()], [round(v, 3) for v in std.tolist()]


def _summary(values: list[float]) -> dict[str, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return {"mean": float(t.mean()), "std": float(t.std()) if len(values) > 1 else 0.0, "min": float(t.min()), "max": float(t.max())}


def _grid_point(cfg: InitStudyConfig, images: Tensor, triples: list, train: Tensor, layers: int, width: int,
                progress: bool) -> dict[str, Any]:  # fmt: skip
    recipe = cfg.recipe()
    starts, prep_seconds = _starts(cfg, images, triples, train, layers, width, progress)
    names = list(starts)
    members = [f for k in names for f in starts[k]]
    targets = images[[tr[0] for tr in triples] * len(names)]
    t0 = time.perf_counter()
    res = fit_many(members, targets, steps=recipe["steps"], lr=recipe["lr"], schedule=recipe["schedule"],
                   min_lr_ratio=recipe["min_lr_ratio"], batch_size=recipe["batch_size"], progress=progress)  # fmt: skip
    member_step = (time.perf_counter() - t0) / (len(members) * max(1, res.steps))
    n = len(triples)
    curves = {k: [res.history.item(j * n + t).psnr + [res.psnr[j * n + t]] for t in range(n)] for j, k in enumerate(names)}
    mean_paper = _mean_std(curves["paper"], cfg.cap)[0]
    out: dict[str, Any] = {"layers": layers, "width": width, "parameters": _params(layers, width, images.shape[1]),
                           "seconds_per_member_step": member_step, "strategies": {}}  # fmt: skip
    for k in names:
        mean, std = _mean_std(curves[k], cfg.cap)
        reach = [steps_to(c, cfg.level) for c in curves[k]]
        early = {str(s): _summary([c[s] for c in curves[k]]) for s in (0, 1, 2, 5, 10) if s < len(mean)}
        out["strategies"][k] = {
            "auc": [capped_auc(c, cfg.cap) for c in curves[k]],
            "final_psnr": _summary([c[-1] for c in curves[k]]),
            "psnr_at_step": early,
            "crossover_step": None if k == "paper" else crossover_step(mean, mean_paper),
            "steps_to_level": reach,
            "seconds_to_level": [None if r is None else r * member_step for r in reach],
            "preparation_seconds": prep_seconds.get(k, 0.0),
            "mean_curve": mean,
            "std_curve": std,
        }
    return out


def init_study(images: Tensor, labels: Tensor, out: str | os.PathLike[str], config: InitStudyConfig | None = None, *,
               data: dict[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Run the study on ``images (N, C, H, W)`` with classes ``labels (N,)`` and write a report folder.

    ``out`` gets ``curves.png`` (mean and one standard deviation of the PSNR on A per step, one panel per
    model size), ``auc.png`` (box plots of each triple's capped AUC per strategy, sizes ordered by
    parameter count), ``metrics.json`` and ``run.json``.

    Returns:
        The metrics: ``triples``, the ``recipe``, and per grid point (``grid``) and strategy: ``auc`` (one per
        triple, dB), ``final_psnr``, ``psnr_at_step`` (steps 0, 1, 2, 5, 10), ``crossover_step`` (of the mean
        curve against ``paper``'s), ``steps_to_level`` and ``seconds_to_level`` (per triple; the batched
        fit's wall time per member and step), ``preparation_seconds`` (pre-fit, meta-learning or encoder
        training), ``mean_curve`` / ``std_curve``.

    Example:
        The quick preset shrunk to seconds (one tiny model size, two triples, two strategies, 3 steps):

        >>> import neuralfields as nf, tempfile
        >>> images = nf.data.load_dataset("shapes", n=20, size=8)
        >>> labels = torch.arange(20) % 4  # four groups stand in for classes (real sets: nf.data.dataset_labels)
        >>> cfg = InitStudyConfig.quick(layers=(1,), widths=(8,), triples=2, steps=3, strategies=("paper", "prefit-same"))
        >>> m = init_study(images, labels, tempfile.mkdtemp(), cfg, progress=False)
        >>> all(labels[a] == labels[b] != labels[c] for a, b, c in m["triples"])  # B of A's class, C of another
        True
        >>> point = m["grid"][0]
        >>> point["layers"], point["width"], list(point["strategies"]), len(point["strategies"]["paper"]["mean_curve"])
        (1, 8, ['paper', 'prefit-same'], 4)
    """
    cfg = config or InitStudyConfig()
    cfg.check()
    if images.dim() != 4 or labels.shape != (images.shape[0],):
        raise InvalidDataError(f"init_study needs images (N, C, H, W) and labels (N,), got {tuple(images.shape)} and {tuple(labels.shape)}")
    triples = make_triples(labels, cfg.triples, seed=cfg.seed)
    used = {i for tr in triples for i in tr}
    train = torch.tensor([i for i in range(len(images)) if i not in used], dtype=torch.long)
    if "meta" in cfg.strategies or "shared-encoder" in cfg.strategies:
        need = max(2, cfg.encoder_signals if "shared-encoder" in cfg.strategies else 2)
        if len(train) < need:
            raise InvalidDataError(f"only {len(train)} images are left outside the triples; meta-learning and the shared encoder need {need}")
    out = Path(out)
    sizes = sorted(((l, w) for l in cfg.layers for w in cfg.widths), key=lambda s: (_params(s[0], s[1], images.shape[1]), s))
    grid = []
    bar = progress_bar(progress, total=len(sizes), desc="init-study", unit="size")
    for layers, width in sizes:
        grid.append(_grid_point(cfg, images, triples, train, layers, width, progress=False))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    metrics = {"triples": triples, "recipe": cfg.recipe(), "cap": cfg.cap, "level": cfg.level, "grid": grid,
               "config": asdict(cfg)}  # fmt: skip
    label = {id(g): f"{g['layers']}x{g['width']} ({g['parameters'] / 1000:.0f}k)" for g in grid}
    plot_band_panels({label[id(g)]: {k: (s["mean_curve"], s["std_curve"]) for k, s in g["strategies"].items()} for g in grid},
                     out / "curves.png", cap=cfg.cap)  # fmt: skip
    plot_box_groups({label[id(g)]: {k: s["auc"] for k, s in g["strategies"].items()} for g in grid}, out / "auc.png",
                    ylabel=f"AUC of PSNR capped at {cfg.cap:g} dB (mean dB)", title=f"protocol {cfg.protocol}")  # fmt: skip
    write_json(out / "metrics.json", metrics)
    write_run(out, "init-study", cfg, data or {})
    return metrics


def verdict(metrics: dict[str, Any]) -> list[str]:
    """One line per grid point: does pre-fitting on ``B`` beat the paper init (mean AUC, with its spread)?"""
    lines = []
    for g in metrics["grid"]:
        s = g["strategies"]
        if "prefit-same" not in s:
            continue
        a, p = torch.tensor(s["prefit-same"]["auc"]), torch.tensor(s["paper"]["auc"])
        d = a - p
        sign = "helps" if float(d.mean()) > 0 else "hurts"
        lines.append(f"{g['layers']}x{g['width']}: pre-fit {sign} (AUC {float(d.mean()):+.2f} +- {float(d.std()) if len(d) > 1 else 0.0:.2f} dB, "
                     f"better in {int((d > 0).sum())}/{len(d)} triples)")  # fmt: skip
    return lines
