"""Fit a field to one image and write a report folder (what ``neuralfields fit`` and ``make demo`` run); the
field builder that :mod:`neuralfields.experiments.fit_signal` shares."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from .. import _registry
from .._registry import spec_of
from ..data import save_image
from ..errors import ConfigError, OptionalDependencyError
from ..fields import Field, render
from ..io import save
from ..training import DEFAULTS, FitResult, fit, psnr, ssim, training_health
from ._report import write_json, write_run

__all__ = ["FitConfig", "fit_image", "build_field"]


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
        family: the registered field family (``hidden_features`` and ``hidden_layers`` apply to the MLP
            families; the ``omega_0`` settings to SIREN).
        frequency: the family's frequency setting (``first_omega_0``, ``scale``, ``sigma``: its
            ``frequency_parameter``): a number, ``"auto"`` for :func:`~neuralfields.suggest_frequency`'s choice,
            or ``None`` for the family's default (SIREN: ``first_omega_0``).
        value_range: ``(low, high)`` of the signal's values (``None``: an image in [0, 1]).
        mesh_level: a volume's surface level: write ``mesh.obj`` and ``mesh.png`` (``None``: no mesh).

    Example:
        >>> cfg = FitConfig(steps=100, family="gauss", frequency="auto")
        >>> cfg.steps, cfg.family, cfg.frequency
        (100, 'gauss', 'auto')
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
    family: str = "siren"
    frequency: float | str | None = None
    value_range: tuple[float, float] | None = None
    mesh_level: float | None = None

    def __post_init__(self) -> None:
        if self.render_size is not None:
            self.render_size = tuple(int(s) for s in self.render_size)  # type: ignore[assignment]
        if self.value_range is not None:
            self.value_range = tuple(float(v) for v in self.value_range)  # type: ignore[assignment]
        if isinstance(self.frequency, str) and self.frequency != "auto":
            raise ConfigError(f"frequency must be a number, 'auto' or None, got {self.frequency!r}")


def fit_to_report(cfg: FitConfig, signal: Tensor, out: str | os.PathLike[str], data: dict[str, Any],
                  progress: bool) -> tuple[Path, Field, dict[str, Any], FitResult]:  # fmt: skip
    """The shared start of a fit report: create ``out``, record ``run.json``, build the field and fit it
    (checkpoints in ``out`` when ``cfg`` asks); ``(out, field, frequency setting, result)``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_run(out, "fit", cfg, data)
    field, setting = build_field(cfg, signal)
    ckpt = out / "checkpoint.safetensors" if (cfg.checkpoint_every or cfg.resume) else None
    result = fit(
        field, signal, steps=cfg.steps, lr=cfg.lr, batch_size=cfg.batch_size, schedule=cfg.schedule, holdout=cfg.holdout,
        seed=cfg.seed, checkpoint=ckpt, checkpoint_every=cfg.checkpoint_every, resume=cfg.resume,
        value_range=cfg.value_range, progress=progress,
    )  # fmt: skip
    return out, field, setting, result


def build_field(cfg: FitConfig, signal: Tensor) -> tuple[Field, dict[str, Any]]:
    """The field ``cfg`` asks for, for a gridded ``signal (C, *spatial)``; and the frequency setting it got
    (``{}`` for the family's default)."""
    from ..analysis import suggest_frequency

    family, dims, channels = cfg.family, signal.dim() - 1, signal.shape[0]
    cls = _registry.get("field", family)
    mlp = {"hidden_features": cfg.hidden_features, "hidden_layers": cfg.hidden_layers} if family != "hash-grid" else {}
    if family == "siren":
        mlp.update(first_omega_0=cfg.first_omega_0, hidden_omega_0=cfg.hidden_omega_0)
    setting: dict[str, Any] = {}
    if cfg.frequency == "auto":
        parameter = getattr(cls, "frequency_parameter", None)
        setting = suggest_frequency(signal, family, **{k: v for k, v in mlp.items() if k != parameter}).config
    elif cfg.frequency is not None:
        parameter = getattr(cls, "frequency_parameter", None)
        if not parameter:
            raise ConfigError(f"the {family!r} family has no frequency setting; leave out the frequency")
        setting = {parameter: float(cfg.frequency)}
    field = _registry.create("field", family, in_features=dims, out_features=channels, seed=cfg.seed, **{**mlp, **setting})
    return field, setting


def fit_image(
    image: Tensor,
    out: str | os.PathLike[str],
    config: FitConfig | None = None,
    *,
    source: str = "image",
    data: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fit a field (``config.family``, a :class:`~neuralfields.Siren` by default) to ``image`` and write a report folder.

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

    Example:
        >>> import tempfile, neuralfields as nf
        >>> out = tempfile.mkdtemp()
        >>> m = fit_image(nf.data.load_image("camera", size=16), out, FitConfig(steps=20, hidden_features=16), progress=False)
        >>> m["steps"], sorted(p.name for p in __import__("pathlib").Path(out).glob("*.png"))
        (20, ['comparison.png', 'reconstruction.png', 'training_curve.png'])
    """
    cfg = config or FitConfig()
    c, h, w = image.shape
    out, field, setting, result = fit_to_report(cfg, image, out, data if data is not None else {"image": source}, progress)
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
        "frequency": setting,
        "config": asdict(cfg),
        "history": result.history.as_dict(),
        "health": training_health(result.history.loss, result.psnr, result.val_psnr),
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
