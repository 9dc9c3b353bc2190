"""Argument checks of :class:`~neuralfields.HyperSiren` (private)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError, DTypeError

__all__ = ["check_option", "check_positive_int", "check_positive_float", "check_float_tensor", "generator", "image_size"]


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


def generator(seed: int | torch.Generator) -> torch.Generator:
    """A generator seeded with ``seed`` (a generator is used as it is)."""
    if isinstance(seed, torch.Generator):
        return seed
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(seed)


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
