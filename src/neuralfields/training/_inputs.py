"""The input checks of the trainers: one place that turns user signals into checked tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .._checks import check_value_range
from ..errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from ..fields.base import Field
from ..fields.render import from_unit
from ..grid import signal_to_samples

__all__ = ["DEFAULTS", "Signal", "prepare_signal", "stack_signals", "stack_images", "recipe"]

Signal = Tensor | tuple[Tensor, Tensor]

DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "batch_size": 16384,
    "schedule": "cosine",
    "min_lr_ratio": 0.01,
}
"""The default recipe of :func:`~neuralfields.fit` (chosen by measurement: see ``benchmarks/RESULTS.md``)."""


def recipe(lr: Any, batch_size: Any, schedule: Any, min_lr_ratio: Any) -> tuple[Any, Any, str, float]:
    """``(lr, batch_size, schedule, min_lr_ratio)`` with :data:`DEFAULTS` filled in for ``None``
    (``"default"`` for the batch size); checks the batch size (the engine checks the rest)."""
    lr = DEFAULTS["lr"] if lr is None else lr
    batch_size = DEFAULTS["batch_size"] if batch_size == "default" else batch_size
    schedule = DEFAULTS["schedule"] if schedule is None else schedule
    min_lr_ratio = DEFAULTS["min_lr_ratio"] if min_lr_ratio is None else min_lr_ratio
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive int or None (full batch), got {batch_size!r}")
    return lr, batch_size, schedule, min_lr_ratio


def prepare_signal(
    field: Field, signal: Signal, value_range: tuple[float, float] | None = None
) -> tuple[Tensor, Tensor, tuple[int, ...] | None]:
    """``(coords (N, d), targets (N, C) on the field's scale, spatial shape or None)`` of a signal, checked
    against the field (:func:`~neuralfields.fit` documents the accepted forms and ``value_range``)."""
    value_range = check_value_range(value_range)
    if isinstance(signal, (tuple, list)):
        if len(signal) != 2:
            raise ShapeError("a (coords, values) signal must be a pair of tensors")
        coords, values = signal
        for name, t in (("coords", coords), ("values", values)):
            if not isinstance(t, Tensor) or not t.is_floating_point():
                raise DTypeError(f"{name} must be a floating-point tensor, got {getattr(t, 'dtype', type(t))}")
        if coords.dim() != 2 or values.dim() != 2 or coords.shape[0] != values.shape[0]:
            raise ShapeError(
                f"(coords, values) must have shapes (N, d) and (N, C) with the same N, "
                f"got {tuple(coords.shape)} and {tuple(values.shape)}"
            )
        shape = None
        targets = values
    elif isinstance(signal, Tensor):
        if not signal.is_floating_point():
            raise DTypeError(
                f"the signal must be a floating-point tensor in [0, 1], got {signal.dtype}; "
                f"convert 8-bit images with img.float() / 255"
            )
        if signal.dim() < 2:
            raise ShapeError(
                f"the signal must have shape (C, *spatial), e.g. an image (C, H, W), got {tuple(signal.shape)}"
            )
        coords, values = signal_to_samples(signal)
        shape = tuple(signal.shape[1:])
        targets = from_unit(values) if value_range is None else values
    else:
        raise DTypeError(f"signal must be a tensor (C, *spatial) or a (coords, values) pair, got {type(signal).__name__}")
    if coords.shape[0] == 0:
        raise InvalidDataError("the signal has no samples")
    if not bool(torch.isfinite(values).all()):
        raise InvalidDataError("the signal contains NaN or infinite values; mask or replace them before fitting")
    if not bool(torch.isfinite(coords).all()):
        raise InvalidDataError("the coordinates contain NaN or infinite values")
    if shape is not None and value_range is None and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
        raise InvalidDataError(
            f"image values must be in [0, 1], got [{float(values.min()):.3g}, {float(values.max()):.3g}]; "
            f"divide 8-bit images by 255, or give value_range=(low, high) for other signals (an SDF, audio)"
        )
    if value_range is not None:
        low, high = value_range
        slack = 1e-6 * (high - low)
        if values.min() < low - slack or values.max() > high + slack:
            raise InvalidDataError(
                f"the values lie in [{float(values.min()):.4g}, {float(values.max()):.4g}], outside value_range "
                f"({low:g}, {high:g}); give a range that holds them"
            )
        targets = (values - low) * (2.0 / (high - low)) - 1.0
    if coords.shape[1] != field.in_features:
        raise ShapeError(
            f"the signal has {coords.shape[1]}-D coordinates but the field takes in_features="
            f"{field.in_features}; build the field with in_features={coords.shape[1]}"
        )
    if targets.shape[1] != field.out_features:
        if shape is not None and len(shape) == 2 and shape[-1] in (1, 3, 4) and targets.shape[1] > 4:
            raise ShapeError(
                f"the image has shape {(targets.shape[1], *shape)}, which looks like (H, W, C); images are "
                f"(C, H, W): use image.permute(2, 0, 1)"
            )
        raise ShapeError(
            f"the signal has {targets.shape[1]} channels but the field has out_features="
            f"{field.out_features}; build the field with out_features={targets.shape[1]}"
        )
    return coords, targets, shape


def stack_signals(
    field: Field, signals: Tensor | Sequence[Tensor], value_range: tuple[float, float] | None = None
) -> tuple[Tensor, Tensor]:
    """Shared coordinates ``(N, d)`` and targets ``(B, N, C)`` on the field's scale."""
    if isinstance(signals, Tensor):
        if not signals.is_floating_point():
            raise DTypeError(f"signals must be floating point in [0, 1], got {signals.dtype}")
        if signals.dim() < 3:
            raise ShapeError(f"signals must be (B, C, *spatial), e.g. images (B, C, H, W), got {tuple(signals.shape)}")
        items = list(signals)
    else:
        items = list(signals)
    if not items:
        raise InvalidDataError("no signals to fit")
    shapes = {tuple(s.shape) for s in items if isinstance(s, Tensor)}
    if len(shapes) != 1 or len(items) != sum(isinstance(s, Tensor) for s in items):
        raise ShapeError(f"fit_many needs signals of one shape (C, *spatial), got shapes {sorted(shapes)}")
    coords = None
    targets = []
    for s in items:
        c, t, _ = prepare_signal(field, s, value_range)
        coords = c if coords is None else coords
        targets.append(t)
    assert coords is not None
    return coords, torch.stack(targets)


def stack_images(images: Tensor | Sequence[Tensor]) -> Tensor:
    if isinstance(images, Tensor):
        stacked = images
    else:
        images = list(images)
        if not images:
            raise InvalidDataError("the dataset is empty; give at least one image")
        shapes = {tuple(im.shape) for im in images}
        if len(shapes) > 1:
            raise ShapeError(f"all images must have the same shape, got {sorted(shapes)}; resize them first")
        stacked = torch.stack(list(images))
    if not stacked.is_floating_point():
        raise DTypeError(f"images must be floating point in [0, 1], got {stacked.dtype}")
    if stacked.dim() != 4:
        raise ShapeError(f"images must be (N, C, H, W) or a list of (C, H, W), got {tuple(stacked.shape)}")
    if stacked.shape[0] == 0:
        raise InvalidDataError("the dataset is empty; give at least one image")
    if not bool(torch.isfinite(stacked).all()):
        raise InvalidDataError("the images contain NaN or infinite values")
    if stacked.min() < -1e-6 or stacked.max() > 1 + 1e-6:
        raise InvalidDataError("image values must be in [0, 1]; divide 8-bit images by 255")
    return stacked


