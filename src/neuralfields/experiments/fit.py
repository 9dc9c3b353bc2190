"""Fit a SIREN to one image and write a report folder (what ``neuralfields fit`` and ``make demo`` run)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from .._registry import spec_of
from ..data import save_image
from ..errors import OptionalDependencyError
from ..fields import Siren, render
from ..io import save
from ..training import DEFAULTS, fit, psnr, ssim
from ._report import write_json, write_run

__all__ = ["FitConfig", "fit_image"]


@dataclass
class FitConfig:
    """Settings of :func:`fit_image` (the defaults of ``neuralfields fit``).

    Attributes:
        steps: training steps.
        hidden_features: width of the sine layers.
        hidden_layers: number of sine layers.
        first_omega_0: the first layer's frequency factor.
        hidden_omega_0: the other layers' frequency factor.
        lr: learning rate.
        batch_size: pixels per step (``None`` for the full batch).
        schedule: ``"cosine"`` or ``"constant"``.
        holdout: fraction of pixels held out for validation.
        seed: seed of the initialisation, the held-out pixels and the batches.
        render_size: also render at this ``(H, W)`` (``None``: no extra render).
        checkpoint_every: write ``checkpoint.safetensors`` every this many steps (``None``: only with
            ``resume``).
        resume: resume from ``checkpoint.safetensors`` in the report folder if it exists.
    """

    steps: int = 500
    hidden_features: int = 256
    hidden_layers: int = 3
    first_omega_0: float = 30.0
    hidden_omega_0: float = 30.0
    lr: float = DEFAULTS["lr"]
    batch_size: int | None = DEFAULTS["batch_size"]
    schedule: str = DEFAULTS["schedule"]
    holdout: float = 0.0
    seed: int = 0
    render_size: tuple[int, int] | None = None
    checkpoint_every: int | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        if self.render_size is not None:
            self.render_size = tuple(int(s) for s in self.render_size)  # type: ignore[assignment]


def fit_image(
    image: Tensor,
    out: str | os.PathLike[str],
    config: FitConfig | None = None,
    *,
    source: str = "image",
    data: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fit a :class:`~neuralfields.Siren` to ``image`` and write a report folder.

    The report (``out``): ``field.safetensors``, ``reconstruction.png``, ``comparison.png`` (target,
    reconstruction, error), ``training_curve.png``, ``render_HxW.png`` (with ``config.render_size``),
    ``metrics.json`` and ``run.json`` (the configuration and library version that made it; ``neuralfields
    fit --config out/run.json --out DIR`` runs it again).

    Args:
        image: ``(C, H, W)`` in [0, 1].
        out: report folder (created).
        config: settings (default :class:`FitConfig`).
        source: what the image is (a sample name or a file), for the report.
        data: how to load the image again (recorded in ``run.json``), default ``{"image": source}``.
        progress: progress bar.

    Returns:
        The metrics (also written to ``metrics.json``).
    """
    cfg = config or FitConfig()
    c, h, w = image.shape
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_run(out, "fit", cfg, data if data is not None else {"image": source})
    field = Siren(2, c, cfg.hidden_features, cfg.hidden_layers, cfg.first_omega_0, cfg.hidden_omega_0, seed=cfg.seed)
    ckpt = out / "checkpoint.safetensors" if (cfg.checkpoint_every or cfg.resume) else None
    result = fit(
        field, image, steps=cfg.steps, lr=cfg.lr, batch_size=cfg.batch_size, schedule=cfg.schedule,
        holdout=cfg.holdout, seed=cfg.seed, checkpoint=ckpt, checkpoint_every=cfg.checkpoint_every,
        resume=cfg.resume, progress=progress,
    )  # fmt: skip
    save(field, out / "field.safetensors", metadata={"source": source})
    recon = render(field, (h, w))
    save_image(recon, out / "reconstruction.png")
    metrics: dict[str, Any] = {
        "source": source,
        "shape": [c, h, w],
        **result.summary(),
        "psnr_image": psnr(recon, image),
        "ssim_image": ssim(recon, image),
        "parameters": sum(p.numel() for p in field.parameters()),
        "field": spec_of(field),
        "config": asdict(cfg),
        "history": result.history.as_dict(),
    }
    if cfg.render_size:
        t0 = time.perf_counter()
        hi = render(field, cfg.render_size)
        rh, rw = cfg.render_size
        save_image(hi, out / f"render_{rh}x{rw}.png")
        metrics["render"] = {"size": [rh, rw], "seconds": time.perf_counter() - t0}
    try:
        from ..plots import plot_comparison, plot_history

        plot_history(result.history, out / "training_curve.png", title=source)
        plot_comparison([image, recon], ["target", "reconstruction"], out / "comparison.png", error_of=(0, 1))
    except OptionalDependencyError as exc:
        print(f"note: skipped the plots: {exc}", file=sys.stderr)
    write_json(out / "metrics.json", metrics)
    return metrics
