"""Learned per-item codes (auto-decoder): concatenated to the coordinates, or as FiLM / shift modulations."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_positive_int, check_seed
from .._registry import register
from ..errors import ConfigError
from .base import Conditioning

__all__ = ["Latent", "LATENT_MODES"]

LATENT_MODES = ("concat", "film", "shift")
"""How a :class:`Latent` code conditions the field."""


@register("conditioning", "latent", example={"num_items": 4, "dim": 8, "mode": "film", "init_std": 0.5, "seed": 0})
class Latent(Conditioning):
    """A learned code per item (auto-decoder), trained with the field.

    Args:
        num_items: number of items.
        dim: code size.
        mode: ``"concat"`` appends the code to the coordinates; ``"film"`` maps it (through a linear
            layer owned by :class:`ConditionedField`) to a scale and a shift of every sine layer's
            pre-activation; ``"shift"`` to a shift only.
        init_std: standard deviation of the initial codes (small, so items start alike).
        seed: seed of the initial codes (a :class:`ConditionedField` also draws its modulator's initial
            weights from it; ``None`` uses the global RNG).

    Attributes:
        codes_table: parameter ``(num_items, dim)``.

    Example:
        >>> Latent(10, dim=4, seed=0).features(torch.tensor([2, 3])).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_items: int, dim: int = 64, mode: str = "concat", init_std: float = 0.01, seed: int | None = None) -> None:
        super().__init__()
        self.num_items = check_positive_int("num_items", num_items)
        if not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"dim must be a positive int, got {dim!r}")
        if mode not in LATENT_MODES:
            raise ConfigError(f"unknown latent mode {mode!r}; use one of {LATENT_MODES}")
        if not init_std >= 0:
            raise ConfigError(f"init_std must be >= 0, got {init_std!r}")
        self.dim, self.mode, self.init_std, self.seed = dim, mode, float(init_std), check_seed(seed, allow_none=True)
        self.extra_features = dim if mode == "concat" else 0
        self.latent_dim = 0 if mode == "concat" else dim
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.codes_table = nn.Parameter(torch.randn(num_items, dim, generator=gen) * init_std)

    def features(self, index: Tensor) -> Tensor:
        if self.mode != "concat":
            return super().features(index).to(self.codes_table)
        return self.codes_table[index]

    def codes(self, index: Tensor) -> Tensor | None:
        return None if self.mode == "concat" else self.codes_table[index]
