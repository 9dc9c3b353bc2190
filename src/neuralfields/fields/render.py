"""Evaluate a field on a pixel-centre grid of any resolution, in chunks."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._checks import check_value_range
from .._files import atomic_stream, check_output_file
from .._png import PNGWriter
from .._progress import progress_bar
from ..errors import ConfigError, InvalidDataError, OutputError, ShapeError
from ..grid import _check_shape, grid_coords
from .base import Field

__all__ = ["render", "render_to_file", "RENDER_BUDGET", "to_unit", "from_unit"]


def to_unit(values: Tensor) -> Tensor:
    """Field values in [-1, 1] -> the [0, 1] scale of images (not clamped).

    Example:
        >>> import torch
        >>> to_unit(torch.tensor([-1.0, 0.0, 1.0, 1.5])).tolist()
        [0.0, 0.5, 1.0, 1.25]
    """
    return values * 0.5 + 0.5


def from_unit(values: Tensor) -> Tensor:
    """Image values in [0, 1] -> the [-1, 1] scale fields see.

    Example:
        >>> import torch
        >>> from_unit(torch.tensor([0.0, 0.5, 1.0])).tolist()
        [-1.0, 0.0, 1.0]
    """
    return values * 2.0 - 1.0


RENDER_BUDGET = 2**31
"""The most bytes :func:`render` allocates for its output (2 GiB) unless told otherwise (``max_bytes=``);
:func:`render_to_file` writes any size in bounded memory."""


def _render_shape(field: Field, shape: Sequence[int], chunk_size: int) -> tuple[int, ...]:
    dims = _check_shape(shape)
    if len(dims) != field.in_features:
        raise ShapeError(
            f"render shape {dims} has {len(dims)} dimensions but the field takes "
            f"{field.in_features}-D coordinates; give a shape with {field.in_features} entries"
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive int, got {chunk_size!r}")
    return dims


def _chunks(field: Field, dims: tuple[int, ...], chunk_size: int, bar: Any) -> Iterator[tuple[int, Tensor]]:
    """``(start, values (n, out_features))`` of consecutive chunks of the flattened grid, checked finite."""
    param = next(iter(field.parameters()), None)
    dtype = param.dtype if param is not None else torch.float32
    at = param.device if param is not None else torch.device("cpu")
    n = math.prod(dims)
    for start in range(0, n, chunk_size):
        idx = torch.arange(start, min(start + chunk_size, n), device=at)
        values = field(grid_coords(dims, idx, dtype=dtype))
        if not bool(torch.isfinite(values).all()):
            raise InvalidDataError(
                f"the field's output holds NaN or infinite values (at coordinates of chunk {start // chunk_size}); "
                f"its weights are probably not finite (a diverged fit?)"
            )
        yield start, values
        if bar is not None:
            bar.update(1)


def _to_image(values: Tensor, unit_range: bool, clamp: bool) -> Tensor:
    if unit_range:
        values = to_unit(values)
        if clamp:
            values = values.clamp_(0.0, 1.0)
    return values


@torch.no_grad()
def render(
    field: Field,
    shape: Sequence[int],
    *,
    chunk_size: int = 65536,
    unit_range: bool = True,
    clamp: bool = True,
    value_range: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
    max_bytes: int = RENDER_BUDGET,
    progress: bool = False,
) -> Tensor:
    """Render a field on a pixel-centre grid of any shape.

    The grid is built chunk by chunk, so only ``chunk_size`` coordinates (and the field's activations
    for them) are in memory at once: a 4096x4096 render needs little more than its output. An output
    larger than ``max_bytes`` is refused before anything is allocated; :func:`render_to_file` writes
    such renders to a PNG or a NumPy file in bounded memory.

    Args:
        field: a field with ``in_features == len(shape)``.
        shape: spatial shape, e.g. ``(1024, 1024)``.
        chunk_size: coordinates evaluated per forward pass.
        unit_range: map values from the field's [-1, 1] to the [0, 1] scale of images.
        clamp: clamp to [0, 1] (only with ``unit_range``).
        value_range: ``(low, high)`` the field was fitted with (``fit(..., value_range=...)``): its [-1, 1]
            is mapped back onto it, nothing is clamped (``unit_range`` and ``clamp`` do not apply).
        device: where to put the output (e.g. ``"cpu"`` for a huge render of a GPU field); defaults to
            the field's device. The field is evaluated on its own device.
        max_bytes: the most bytes the output may take (default :data:`RENDER_BUDGET`, 2 GiB).
        progress: show a progress bar over the chunks (when stderr is a terminal).

    Returns:
        ``(out_features, *shape)`` on ``device``, in the field's dtype.

    Raises:
        ConfigError: the output would take more than ``max_bytes``.
        InvalidDataError: the field outputs NaN or infinite values (e.g. its weights are not finite).

    Example:
        >>> import neuralfields as nf
        >>> f = nf.Siren(2, 3, hidden_features=16, seed=0)
        >>> nf.render(f, (20, 30)).shape
        torch.Size([3, 20, 30])
    """
    dims = _render_shape(field, shape, chunk_size)
    value_range = check_value_range(value_range)
    param = next(iter(field.parameters()), None)
    dtype = param.dtype if param is not None else torch.float32
    device = torch.device(device) if device is not None else (param.device if param is not None else torch.device("cpu"))
    n = math.prod(dims)
    need = n * field.out_features * torch.finfo(dtype).bits // 8
    if need > max_bytes:
        raise ConfigError(
            f"a render of {'x'.join(map(str, dims))} with {field.out_features} channels needs {need / 2**30:.1f} GiB, "
            f"more than the {max_bytes / 2**30:.1f} GiB allowed (max_bytes); render_to_file(field, shape, path) writes "
            f"it to a PNG or .npy file in bounded memory"
        )
    out = torch.empty(field.out_features, n, dtype=dtype, device=device)
    bar = progress_bar(progress, math.ceil(n / chunk_size), "render", unit="chunk")
    try:
        for start, values in _chunks(field, dims, chunk_size, bar):
            out[:, start : start + values.shape[0]] = values.T.to(device)
    finally:
        if bar is not None:
            bar.close()
    out = out.reshape(field.out_features, *dims)
    if value_range is not None:
        return _to_range(out, value_range)
    return _to_image(out, unit_range, clamp)


def _to_range(values: Tensor, value_range: tuple[float, float]) -> Tensor:
    """Field values on [-1, 1] -> the ``(low, high)`` scale they were fitted on (not clamped)."""
    low, high = value_range
    return (values + 1.0) * (0.5 * (high - low)) + low


def _render_wav(field: Field, dims: tuple[int, ...], path: Path, chunk_size: int, value_range: tuple[float, float] | None,
                sample_rate: int | None, progress: bool) -> Path:  # fmt: skip
    from .._wav import save_audio

    if len(dims) != 1:
        raise ConfigError(f"a WAV file holds a 1-D field (audio); this one maps {len(dims)}-D coordinates: write a .npy file")
    if sample_rate is None:
        raise ConfigError("a WAV file needs sample_rate= (samples per second)")
    audio = render(field, dims, chunk_size=chunk_size, value_range=value_range or (-1.0, 1.0), progress=progress)
    return save_audio(audio.float().clamp(-1.0, 1.0), path, sample_rate)


@torch.no_grad()
def render_to_file(
    field: Field,
    shape: Sequence[int],
    path: str | os.PathLike[str],
    *,
    chunk_size: int = 65536,
    value_range: tuple[float, float] | None = None,
    sample_rate: int | None = None,
    progress: bool = True,
) -> Path:
    """Render a field of any size straight to a file, in bounded memory (one chunk at a time), atomically.

    ``.png``: a 2-D field with 1 to 4 channels, 8-bit, values mapped from [-1, 1] to [0, 1] and clamped, as
    :func:`render` gives them. ``.npy``: any shape, float32 on the [0, 1] scale (not clamped), or on
    ``value_range``'s scale, laid out ``(out_features, *shape)`` and written through a memory map
    (``numpy.load(path, mmap_mode="r")`` reads it without loading it whole). ``.wav``: a 1-D field (audio, one
    channel per output), 16-bit PCM at ``sample_rate``, on ``value_range``'s scale (default ``(-1, 1)``, the
    field's own) and clipped to [-1, 1].

    Args:
        field: the field.
        shape: spatial shape.
        path: a ``.png``, ``.npy`` or ``.wav`` file.
        chunk_size: coordinates per forward pass (rounded to whole rows for a PNG).
        value_range: the ``(low, high)`` the field was fitted with (``fit(..., value_range=...)``): a ``.npy``
            or ``.wav`` file gets values on that scale. Not for a PNG.
        sample_rate: samples per second of a ``.wav`` file (required for one).
        progress: show a progress bar (when stderr is a terminal).

    Returns:
        ``path``.

    Example:
        >>> import neuralfields as nf, tempfile, os
        >>> f = nf.Siren(2, 1, hidden_features=8, seed=0)
        >>> p = render_to_file(f, (30, 20), os.path.join(tempfile.mkdtemp(), "big.png"), progress=False)
        >>> nf.data.load_image(p).shape
        torch.Size([1, 30, 20])
    """
    dims = _render_shape(field, shape, chunk_size)
    value_range = check_value_range(value_range)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".wav":
        return _render_wav(field, dims, path, chunk_size, value_range, sample_rate, progress)
    if suffix == ".png" and value_range is not None:
        raise ConfigError("a PNG holds an image in [0, 1]; render a field fitted with value_range to a .npy file")
    if suffix == ".png":
        if len(dims) != 2 or not 1 <= field.out_features <= 4:
            raise ConfigError(f"a PNG holds a 2-D field with 1 to 4 channels; this one maps {len(dims)}-D coordinates "
                              f"to {field.out_features} channels: write a .npy file")  # fmt: skip
        h, w = dims
        rows = max(1, chunk_size // w)
        bar = progress_bar(progress, math.ceil(h / rows), f"render {h}x{w}", unit="band")
        try:
            with atomic_stream(path) as fh:
                png = PNGWriter(fh, w, h, field.out_features)
                for _, values in _chunks(field, dims, rows * w, bar):
                    band = _to_image(values, True, True).reshape(-1, w, field.out_features)
                    png.write_rows((band.float().cpu() * 255.0 + 0.5).to(torch.uint8).numpy())
                png.close()
        finally:
            if bar is not None:
                bar.close()
        return path
    if suffix != ".npy":
        raise ConfigError(f"render_to_file writes .png, .npy or .wav files, got {path.name!r}")
    import numpy as np

    check_output_file(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.render.tmp.npy")
    bar = progress_bar(progress, math.ceil(math.prod(dims) / chunk_size), "render", unit="chunk")
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(field.out_features, *dims))
        flat = out.reshape(field.out_features, -1)  # a view of the same memory map
        for start, values in _chunks(field, dims, chunk_size, bar):
            scaled = _to_image(values, True, False) if value_range is None else _to_range(values, value_range)
            flat[:, start : start + values.shape[0]] = scaled.T.float().cpu().numpy()
        out.flush()
        del out, flat
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
        if bar is not None:
            bar.close()
    return path
