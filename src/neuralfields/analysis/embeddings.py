"""Per-item embeddings read from a conditioned field."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..conditioning import ConditionedField
from ..grid import make_grid
from .places import layer_of

__all__ = ["item_embeddings"]


@torch.no_grad()
def item_embeddings(
    field: ConditionedField,
    items: Sequence[int] | Tensor | None = None,
    *,
    place: str = "last_hidden",
    shape: Sequence[int] = (16, 16),
) -> Tensor:
    """One embedding vector per item.

    Args:
        field: a fitted conditioned field.
        items: item indices (default: all).
        place: see :data:`~neuralfields.analysis.PLACES`. Input places give the conditioning's extra
            channels followed by its codes; layer places give the layer's activations on a
            ``shape`` grid, flattened (pixel-major), so two items are compared pixel by pixel.
        shape: grid of the layer places.

    Returns:
        ``(N, D)`` float tensor.

    Example:
        >>> import neuralfields as nf
        >>> f = nf.ConditionedField(nf.Siren(3, 1, hidden_features=8, seed=0), nf.IndexCoordinate(5))
        >>> item_embeddings(f, place="conditioning").shape, item_embeddings(f, shape=(4, 4)).shape
        (torch.Size([5, 1]), torch.Size([5, 128]))
    """
    layer = layer_of(field, place)
    if items is None:
        items = torch.arange(field.num_items)
    index = torch.as_tensor(items, dtype=torch.long).reshape(-1)
    device = next(field.parameters()).device
    features, codes = field.inputs(index, device=device)
    if layer is None:
        parts = [features.float()] + ([codes.float()] if codes is not None else [])
        if place == "latent":
            parts = [field.conditioning.codes_table[index.to(device)].float()]
        return torch.cat(parts, dim=1)
    coords = make_grid(tuple(shape), device=device).reshape(-1, field.in_features)
    out = [field.activations(coords, features[s : s + 32], None if codes is None else codes[s : s + 32], layer)
           for s in range(0, index.shape[0], 32)]  # fmt: skip
    return torch.cat(out).reshape(index.shape[0], -1)
