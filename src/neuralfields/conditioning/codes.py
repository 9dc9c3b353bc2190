"""Fixed conditionings: the item index as an extra coordinate, or as a binary code."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive_int
from .._registry import register
from ..errors import ConfigError, ShapeError
from .base import Conditioning

__all__ = ["IndexCoordinate", "BinaryCode"]


@register("conditioning", "index", example={"num_items": 4})
class IndexCoordinate(Conditioning):
    """The item index as one extra coordinate in [-1, 1].

    Item ``i`` of ``N`` sits at the pixel centre ``-1 + (2i + 1) / N``: the items form one more grid
    dimension, so a set of images is fitted like a volume.

    Example:
        >>> IndexCoordinate(4).features(torch.arange(4)).squeeze(1)
        tensor([-0.7500, -0.2500,  0.2500,  0.7500])
    """

    extra_features = 1

    def __init__(self, num_items: int) -> None:
        super().__init__()
        self.num_items = check_positive_int("num_items", num_items)

    def features(self, index: Tensor) -> Tensor:
        return (-1.0 + (2.0 * index.double() + 1.0) / self.num_items).float()[:, None]


@register("conditioning", "binary", example={"num_items": 5})
class BinaryCode(Conditioning):
    """The item index as a fixed binary code: ``bits`` extra channels of -1 / +1, most significant first.

    Args:
        num_items: number of items.
        bits: code length; default ``max(1, ceil(log2(num_items)))``, the fewest that give every item
            its own code.

    Example:
        >>> BinaryCode(5).features(torch.tensor([0, 4]))
        tensor([[-1., -1., -1.],
                [ 1., -1., -1.]])
    """

    def __init__(self, num_items: int, bits: int | None = None) -> None:
        super().__init__()
        self.num_items = check_positive_int("num_items", num_items)
        needed = max(1, math.ceil(math.log2(num_items)))
        if bits is None:
            bits = needed
        if not isinstance(bits, int) or bits < needed:
            raise ConfigError(f"{num_items} items need at least {needed} bits, got bits={bits!r}")
        self.bits = bits
        self.extra_features = bits
        self.register_buffer("_weights", 2 ** torch.arange(bits - 1, -1, -1), persistent=False)

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "bits": self.bits}  # the resolved default

    def features(self, index: Tensor) -> Tensor:
        bits = (index[:, None] // self._weights.to(index.device)) % 2
        return bits.float() * 2.0 - 1.0

    def decode(self, codes: Tensor) -> Tensor:
        """Inverse of :meth:`features`: codes ``(B, bits)`` (signs) -> indices ``(B,)``."""
        if codes.dim() != 2 or codes.shape[1] != self.bits:
            raise ShapeError(f"codes must have shape (B, {self.bits}), got {tuple(codes.shape)}")
        return ((codes > 0).long() * self._weights.to(codes.device)).sum(1)
