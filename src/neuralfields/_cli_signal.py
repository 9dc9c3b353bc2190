"""The ``neuralfields`` command's parts for signals of any dimension: ``fit`` of a ``.wav`` or ``.npy`` file, and
``render`` of a field to ``.png``, ``.npy`` or ``.wav``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._files import check_output_file
from .errors import ConfigError

__all__ = ["fit_signal_command", "render_command"]


def fit_signal_command(args: argparse.Namespace, cfg: Any, source: dict[str, Any], suffix: str, recorded: bool) -> int:
    """``fit`` of a .wav (audio) or .npy (any dimension) file."""
    from dataclasses import replace

    from ._wav import load_audio
    from .experiments import fit_signal, load_array

    if source.get("size") or source.get("channels") or cfg.render_size:
        raise ConfigError("--size, --channels and --render-size are for images; `neuralfields render` renders a signal's field at any size")
    rate = None
    if suffix == ".wav":
        signal, rate = load_audio(source["image"])
    else:
        signal = load_array(source["image"], channels_first=bool(source.get("channels_first")))
    if cfg.frequency is None and not recorded:
        cfg = replace(cfg, frequency="auto")
    what = f"audio ({signal.shape[0]} channel(s), {signal.shape[1]} samples at {rate} Hz)" if rate else f"a signal of shape {tuple(signal.shape)}"
    print(f"fitting {source['image']}: {what}")
    m = fit_signal(signal, args.out, cfg, sample_rate=rate, source=str(source["image"]), data=source, progress=not args.no_progress)
    chosen = "".join(f", {k} = {v:g}" for k, v in m["frequency"].items())
    print(f"PSNR {m['psnr_signal']:.2f} dB (on the range {m['value_range'][0]:g} .. {m['value_range'][1]:g}{chosen}) after "
          f"{m['steps']} steps ({m['seconds']:.1f} s); wrote {args.out}/")  # fmt: skip
    return 0


def render_command(args: argparse.Namespace) -> int:
    from . import io
    from .fields import Field, render_to_file

    check_output_file(args.out)  # before loading and rendering
    model = io.load(args.file)
    if not isinstance(model, Field):
        raise ConfigError(f"{args.file} holds a {type(model).__name__}, not a field that can be rendered")
    suffix = args.out.suffix.lower()
    if suffix == ".png" and (model.in_features != 2 or not 1 <= model.out_features <= 4):
        raise ConfigError(
            f"only 2-D fields with 1 to 4 channels render to PNG; {args.file} maps "
            f"{model.in_features}-D coordinates to {model.out_features} channels: write a .npy (or, for audio, .wav) file"
        )
    dims = args.size * model.in_features if len(args.size) == 1 else args.size
    if len(dims) != model.in_features:
        raise ConfigError(f"{args.file} holds a {model.in_features}-D field; give --size as N or {model.in_features} sizes joined by x")
    meta = io.read_metadata(args.file)
    kept = json.loads(meta["value_range"]) if "value_range" in meta else None
    value_range = tuple(kept) if kept is not None and suffix != ".png" else None
    rate = args.sample_rate
    if rate is None and meta.get("sample_rate", "").isdigit() and meta.get("samples", "").isdigit():
        rate = max(1, round(int(meta["sample_rate"]) * dims[0] / int(meta["samples"])))  # the clip's duration
    if suffix == ".wav" and rate is None:
        raise ConfigError(f"{args.file} records no sample rate; give --sample-rate")
    render_to_file(model, dims, args.out, chunk_size=args.chunk_size, value_range=value_range,
                   sample_rate=rate if suffix == ".wav" else None, progress=not args.no_progress)  # fmt: skip
    print(f"wrote {args.out} ({'x'.join(map(str, dims))})")
    return 0
