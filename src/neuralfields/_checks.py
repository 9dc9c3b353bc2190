"""The input checks every layer shares (a low module): one place for each kind of argument, so a bad
input gets the same clear :class:`~neuralfields.errors.NeuralFieldsError` wherever it is passed."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .errors import ConfigError, DTypeError, InvalidDataError, ShapeError

__all__ = [
    "check_value_range", "check_option", "check_positive_int", "check_positive_float", "check_float_tensor", "check_images", "check_coords", "check_seed", "generator", "image_size", "user_stacklevel"]


def check_option(what: str, value: Any, options: Sequence[str]) -> str:
    """``value`` if it is one of ``options``, else a ConfigError naming them and the closest match."""
    if value not in options:
        close = difflib.get_close_matches(str(value), options, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown {what} {value!r}.{hint} Available: {', '.join(repr(o) for o in options)}.")
    return value  # type: ignore[no-any-return]


def check_positive_int(name: str, value: Any) -> int:
    """``value`` if it is an int >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")
    return value


def check_positive_float(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number > 0."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or not math.isfinite(value):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_float_tensor(name: str, x: Any) -> Tensor:
    """``x`` if it is a floating-point tensor."""
    if not isinstance(x, Tensor):
        raise DTypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise DTypeError(f"{name} must be floating point, got {x.dtype}; convert 8-bit images with x.float() / 255")
    return x


SEED_LIMIT = 2**63
"""Seeds are ints in ``[0, 2**63)``."""


def check_seed(seed: Any, name: str = "seed", *, allow_none: bool = False) -> Any:
    """``seed`` if it is an int in ``[0, 2**63)`` (or ``None`` when allowed).

    Example:
        >>> check_seed(7), check_seed(None, allow_none=True)
        (7, None)
    """
    if seed is None and allow_none:
        return None
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < SEED_LIMIT:
        allowed = "an int in [0, 2**63)" + (" or None" if allow_none else "")
        raise ConfigError(f"{name} must be {allowed}, got {seed!r}")
    return seed


def generator(seed: int | torch.Generator) -> torch.Generator:
    """A generator seeded with ``seed`` (a generator is used as it is)."""
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(check_seed(seed))


def image_size(value: Any) -> tuple[int, int]:
    """``(H, W)`` of positive ints (an int ``n`` is ``(n, n)``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        size = tuple(value)
    except TypeError:
        raise ConfigError(f"image_size must be (H, W) positive ints, got {value!r}") from None
    if len(size) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size):
        raise ConfigError(f"image_size must be (H, W) positive ints, got {value!r}")
    return size  # type: ignore[return-value]


def check_images(
    x: Any,
    what: str = "images",
    *,
    channels: int | None = None,
    size: Sequence[int] | None = None,
    finite: bool = False,
    owner: str | None = None,
) -> Tensor:
    """``x`` if it is a floating-point batch of images ``(B, C, H, W)``.

    Args:
        x: the value to check.
        what: its name in messages.
        channels: the number of channels it must have, or ``None``.
        size: the ``(H, W)`` it must have, or ``None``.
        finite: also refuse NaN and infinite values.
        owner: what takes the images (e.g. a class name), for the message about channels / size.

    Raises:
        DTypeError: not a floating-point tensor.
        ShapeError: not 4-D, or not the channels / size asked for.
        InvalidDataError: NaN or infinite values (with ``finite``).

    Example:
        >>> check_images(torch.zeros(2, 1, 4, 4), channels=1).shape
        torch.Size([2, 1, 4, 4])
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise DTypeError(
            f"{what} must be a floating-point tensor (B, C, H, W), got {getattr(x, 'dtype', type(x).__name__)}; "
            f"convert 8-bit images with x.float() / 255"
        )
    if x.dim() != 4:
        hint = f"; add a batch dimension with {what}[None]" if x.dim() == 3 else ""
        raise ShapeError(f"{what} must have shape (B, C, H, W), got {tuple(x.shape)}{hint}")
    want_size = tuple(size) if size is not None else None
    if (channels is not None and x.shape[1] != channels) or (want_size is not None and tuple(x.shape[-2:]) != want_size):
        want = f"(B, {channels if channels is not None else 'C'}, {want_size[0] if want_size else 'H'}, {want_size[1] if want_size else 'W'})"
        raise ShapeError(f"{owner or 'this'} takes {what} {want}, got {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise InvalidDataError(f"{what} contains NaN or infinite values; replace them (e.g. mask them out) first")
    return x


def check_coords(coords: Any, in_features: int, owner: str) -> Tensor:
    """``coords`` if it is a floating-point tensor of coordinates ``(..., in_features)``.

    Raises:
        DTypeError: not a floating-point tensor.
        ShapeError: the last dimension is not ``in_features``.
    """
    if not isinstance(coords, Tensor):
        raise DTypeError(f"coords must be a torch.Tensor, got {type(coords).__name__}")
    if not coords.is_floating_point():
        raise DTypeError(f"coords must be floating point, got {coords.dtype}; use coords.float()")
    if coords.dim() == 0 or coords.shape[-1] != in_features:
        raise ShapeError(
            f"{owner} expects coordinates of shape (..., {in_features}) (in_features={in_features}), "
            f"got {tuple(coords.shape)}"
        )
    return coords


def check_value_range(value_range: Any) -> tuple[float, float] | None:
    """``None``, or a checked ``(low, high)`` pair of finite floats with ``low < high``.

    Example:
        >>> check_value_range((-1, 1))
        (-1.0, 1.0)
    """
    if value_range is None:
        return None
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ConfigError(f"value_range must be a (low, high) pair of numbers, got {value_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"value_range must be finite with low < high, got {value_range!r}")
    return low, high


def user_stacklevel() -> int:
    """The ``stacklevel`` of a warning raised here that points at the first caller outside neuralfields
    (the user's line), however deep inside the library the warning is raised."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level
