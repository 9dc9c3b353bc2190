"""The :class:`Conditioning` base class: what turns an item index into input for a shared field."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._registry import config_repr
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError

__all__ = ["Conditioning"]


class Conditioning(nn.Module):
    """Maps item indices to what conditions one field on many items.

    A conditioning contributes ``extra_features`` input channels (appended to the coordinates) and/or,
    when ``latent_dim > 0``, a per-item code that :class:`~neuralfields.conditioning.ConditionedField`
    turns into modulations of the field's sine layers.

    Attributes:
        num_items: how many items it supports (indices ``0 .. num_items - 1``).
        extra_features: input channels appended to the coordinates.
        latent_dim: size of the per-item code used for modulations (0 for none).
    """

    num_items: int
    extra_features: int = 0
    latent_dim: int = 0

    @property
    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments."""
        raise NotImplementedError(f"{type(self).__name__} must define the `config` property")

    def check_index(self, index: Tensor | int) -> Tensor:
        """Validate item indices.

        Returns:
            Long tensor ``(B,)`` (an int becomes a batch of one).

        Raises:
            IndexOutOfRangeError: an index is negative or at least ``num_items``.
        """
        if isinstance(index, int) and not isinstance(index, bool):
            index = torch.tensor([index])
        if not isinstance(index, Tensor) or index.dtype.is_floating_point or index.dtype == torch.bool:
            raise DTypeError(f"item indices must be ints or an integer tensor, got {getattr(index, 'dtype', index)!r}")
        if index.dim() != 1:
            raise ShapeError(f"item indices must have shape (B,), got {tuple(index.shape)}")
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.num_items):
            bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
            raise IndexOutOfRangeError(
                f"item index {bad} is out of range: {type(self).__name__} was built for "
                f"{self.num_items} items (indices 0..{self.num_items - 1})"
            )
        return index.long()

    def features(self, index: Tensor) -> Tensor:
        """Extra input channels ``(B, extra_features)`` for items ``index`` ``(B,)``."""
        return torch.zeros(index.shape[0], 0, device=index.device)

    def codes(self, index: Tensor) -> Tensor | None:
        """Per-item codes ``(B, latent_dim)`` that drive modulations, or ``None``."""
        return None

    def extra_repr(self) -> str:
        return config_repr(self)
