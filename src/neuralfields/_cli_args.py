"""Argument types and shared arguments of the ``neuralfields`` command."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["size", "shape", "frequency", "value_range", "pixels", "positive", "seed", "csv", "listing", "add_image_set_arguments"]


def size(text: str) -> tuple[int, int]:
    """``"256"`` or ``"256x384"`` -> ``(H, W)``."""
    parts = text.lower().split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW (e.g. 256 or 1024x768), got {text!r}") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected N or HxW with positive sizes, got {text!r}")
    return dims  # type: ignore[return-value]


def shape(text: str) -> tuple[int, ...]:
    """``"256"``, ``"256x384"`` or ``"64x64x64"`` -> a tuple of positive sizes (one size stands for every axis of
    the field it renders)."""
    try:
        dims = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or sizes joined by x (e.g. 1024, 256x384, 64x64x64), got {text!r}") from None
    if min(dims) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return dims


def frequency(text: str) -> float | str:
    """A positive frequency setting, or ``"auto"``."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number or 'auto', got {text!r}")
    return value


def value_range(text: str) -> tuple[float, float]:
    """``"LOW,HIGH"`` with LOW < HIGH."""
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (e.g. -1,1), got {text!r}") from None
    if not low < high:
        raise argparse.ArgumentTypeError(f"expected LOW < HIGH, got {text!r}")
    return low, high


def _int_in(text: str, low: int, high: int | None, expected: str) -> int:
    """``text`` as an int in ``[low, high)``, else an argparse error saying what was ``expected``."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value >= high):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive(text: str) -> int:
    """A positive int (``--steps 0`` or ``--n 0`` are refused, not replaced by a default)."""
    return _int_in(text, 1, None, "a positive int")


def seed(text: str) -> int:
    """A seed: an int in [0, 2**63)."""
    return _int_in(text, 0, 2**63, "an int in [0, 2**63)")


def pixels(text: str) -> int | None:
    """A positive batch size, or ``"full"`` (``None``)."""
    return None if text == "full" else _int_in(text, 1, None, "a positive int or 'full'")


def csv(text: str, kind: type, option: str) -> tuple[Any, ...]:
    """``"a,b,c"`` -> a tuple of ``kind`` values (empty items skipped); a ConfigError naming ``option``."""
    try:
        return tuple(kind(item.strip()) for item in text.split(",") if item.strip())
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated {kind.__name__} values, got {text!r}") from None


def listing(names: Iterable[str]) -> str:
    """Names for a help text: ``a | b | c``."""
    return " | ".join(names)


def add_image_set_arguments(p: argparse.ArgumentParser, default_size: int, n_help: str, size_note: str = "") -> None:
    """The image-set arguments of train-prior, restore and hyper-train."""
    p.add_argument("data", metavar="DATA", nargs="?", default="digits", help="a folder of images, or digits | crops | patches | shapes (default: digits)")
    p.add_argument("--out", required=True, type=Path, help="report folder (created)")
    p.add_argument("--n", "--num-images", dest="n", type=positive, default=None, help=n_help + " (--num-images under torchrun, "
                   "which takes --n for its own options)")  # fmt: skip
    p.add_argument("--size", type=positive, default=default_size, help=f"image size{size_note} (default: {default_size})")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
