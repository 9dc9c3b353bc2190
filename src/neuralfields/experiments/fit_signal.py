"""Fit a field to a signal that is not an image (audio, a volume, any gridded array) and write a report folder
(what ``neuralfields fit`` runs for a ``.wav`` or ``.npy`` file)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._registry import spec_of
from .._wav import save_audio
from ..errors import FileFormatError, InvalidDataError, NeuralFieldsError, OptionalDependencyError, ShapeError
from ..fields import render
from ..io import save
from ..training.metrics import psnr
from ._report import write_json
from .fit import FitConfig, fit_to_report

__all__ = ["fit_signal", "load_array"]


def load_array(path: str | os.PathLike[str], *, channels_first: bool = False) -> Tensor:
    """A gridded signal from a NumPy ``.npy`` file: ``(*spatial)`` with one value per point, or
    ``(C, *spatial)`` with ``channels_first``.

    Returns:
        ``(C, *spatial)`` float32.

    Raises:
        FileFormatError: not a readable ``.npy`` file of numbers (object arrays are refused, never unpickled).
        InvalidDataError: NaN or infinite values.

    Example:
        >>> import os, tempfile, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "v.npy")
        >>> np.save(path, np.zeros((4, 5, 6)))
        >>> load_array(path).shape, load_array(path, channels_first=True).shape
        (torch.Size([1, 4, 5, 6]), torch.Size([4, 5, 6]))
    """
    path = Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileFormatError(f"no file at {path}") from None
    except (ValueError, OSError) as exc:
        raise FileFormatError(f"{path} is not a .npy array of numbers: {exc}") from None
    if not isinstance(arr, np.ndarray) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise FileFormatError(f"{path} holds {getattr(arr, 'dtype', type(arr))}, not numbers")
    if arr.ndim < (2 if channels_first else 1) or arr.size == 0:
        raise ShapeError(f"{path} holds an array of shape {arr.shape}: expected (*spatial){' with channels first' if channels_first else ''}")
    data = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    if not bool(torch.isfinite(data).all()):
        raise InvalidDataError(f"{path} holds NaN or infinite values")
    return data if channels_first else data[None]


def _range_of(signal: Tensor) -> tuple[float, float]:
    low, high = float(signal.min()), float(signal.max())
    if high <= low:  # a constant signal: any range around it
        low, high = low - 1.0, high + 1.0
    return low, high


def fit_signal(
    signal: Tensor,
    out: str | os.PathLike[str],
    config: FitConfig | None = None,
    *,
    sample_rate: int | None = None,
    source: str = "signal",
    data: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fit a field to a gridded signal of any dimension and write a report folder.

    Audio (with ``sample_rate``) gets ``reconstruction.wav`` and ``waveform.png``; a 3-D signal gets
    ``reconstruction.npy``, ``slices.png`` and, with ``config.mesh_level``, ``mesh.obj`` and ``mesh.png``;
    any other ``reconstruction.npy``. Every report has ``field.safetensors`` (its metadata keeps the value
    range and the sample rate, which ``neuralfields render`` uses), ``training_curve.png``, ``metrics.json``
    and ``run.json``.

    Args:
        signal: ``(C, *spatial)``, any value range.
        out: report folder (created).
        config: settings (default :class:`~neuralfields.experiments.FitConfig` with ``frequency="auto"``,
            the rule of :func:`~neuralfields.suggest_frequency`); ``config.value_range`` defaults to the
            signal's own range ([-1, 1] for audio).
        sample_rate: samples per second: the signal is audio ``(channels, samples)``.
        source: what the signal is, for the report.
        data: how to load it again (recorded in ``run.json``).
        progress: progress bar.

    Returns:
        The metrics (also written to ``metrics.json``): PSNR relative to the value range's width.

    Example:
        >>> import math, os, tempfile, torch
        >>> from neuralfields.experiments import FitConfig
        >>> sound = torch.sin(2 * math.pi * 20 * torch.arange(400) / 400)[None] * 0.5
        >>> cfg = FitConfig(steps=100, hidden_features=32, hidden_layers=2, frequency="auto")
        >>> m = fit_signal(sound, tempfile.mkdtemp(), cfg, sample_rate=400, progress=False)
        >>> m["value_range"], m["frequency"]["first_omega_0"] > 30, m["psnr_signal"] > 40
        ([-1.0, 1.0], True, True)
    """
    cfg = config or FitConfig(frequency="auto")
    if sample_rate is not None and signal.dim() != 2:
        raise ShapeError(f"audio is (channels, samples), got {tuple(signal.shape)}")
    if cfg.value_range is None:
        cfg = FitConfig(**{**asdict(cfg), "value_range": (-1.0, 1.0) if sample_rate else _range_of(signal)})
    out, field, setting, result = fit_to_report(cfg, signal, out, data if data is not None else {"signal": source}, progress)
    extra = {"source": source, "value_range": json.dumps(list(cfg.value_range))}
    if sample_rate:
        extra.update(sample_rate=str(sample_rate), samples=str(signal.shape[1]))
    save(field, out / "field.safetensors", metadata=extra)
    spatial = tuple(signal.shape[1:])
    recon = render(field, spatial, value_range=cfg.value_range)
    low, high = cfg.value_range
    metrics: dict[str, Any] = {
        "source": source, "shape": list(signal.shape), **result.summary(),
        "psnr_signal": psnr(recon, signal, data_range=high - low), "value_range": list(cfg.value_range),
        "parameters": sum(p.numel() for p in field.parameters()), "field": spec_of(field), "frequency": setting,
        "config": asdict(cfg), "history": result.history.as_dict(),
    }  # fmt: skip
    if sample_rate:
        save_audio(recon.clamp(-1.0, 1.0), out / "reconstruction.wav", sample_rate)
    else:
        np.save(out / "reconstruction.npy", recon.numpy())
    try:
        from .. import plots

        plots.plot_history(result.history, out / "training_curve.png", title=source)
        if sample_rate:
            plots.plot_waveform(signal, recon, out / "waveform.png", sample_rate=sample_rate, title=f"{source}: {metrics['psnr_signal']:.1f} dB")
        elif len(spatial) == 3:
            plots.plot_volume_slices([signal, recon], ["target", "field"], out / "slices.png", title=source)
    except OptionalDependencyError as exc:
        print(f"note: skipped the plots: {exc}", file=sys.stderr)
    if cfg.mesh_level is not None and len(spatial) == 3 and signal.shape[0] == 1:
        metrics["mesh"] = _mesh(field, cfg, max(spatial), out)
    write_json(out / "metrics.json", metrics)
    return metrics


def _mesh(field: Any, cfg: FitConfig, resolution: int, out: Path) -> dict[str, Any]:
    from ..analysis import extract_mesh

    try:
        mesh = extract_mesh(field, resolution, level=cfg.mesh_level, value_range=cfg.value_range)  # type: ignore[arg-type]
    except NeuralFieldsError as exc:
        print(f"note: no mesh: {exc}", file=sys.stderr)
        return {"error": str(exc)}
    mesh.save(out / "mesh.obj")
    try:
        from ..plots import plot_mesh

        plot_mesh(mesh.vertices, mesh.faces, out / "mesh.png", title=f"level {cfg.mesh_level:g}")
    except OptionalDependencyError as exc:
        print(f"note: skipped the mesh picture: {exc}", file=sys.stderr)
    return {"level": cfg.mesh_level, "vertices": int(mesh.vertices.shape[0]), "faces": int(mesh.faces.shape[0])}
