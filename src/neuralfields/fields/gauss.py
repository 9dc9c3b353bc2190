"""Gauss: a coordinate MLP with Gaussian activations (Ramasinghe and Lucey, "Beyond periodicity: towards a
unifying framework for activations in coordinate-MLPs", ECCV 2022)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_positive_float
from .._registry import register
from .mlp import ActivationMLP

__all__ = ["Gauss"]


@register("field", "gauss", example={"hidden_features": 16, "hidden_layers": 2, "seed": 0})
class Gauss(ActivationMLP):
    """Linear layers with the activation ``exp(-(scale * z)^2)``, then a linear output layer.

    Reference defaults: ``scale`` 10 and PyTorch's default initialisation ``U(-1/sqrt(n), 1/sqrt(n))`` of
    every layer (as the WIRE authors' comparison code runs Gauss). ``scale`` sets the width of the bump,
    so it plays the part of SIREN's ``omega_0``: larger for finer detail.

    Args:
        in_features, out_features, hidden_features, hidden_layers: the shape (``hidden_layers`` Gaussian
            layers, then a linear output layer).
        scale: the activation's scale (> 0).
        seed: seed of the initialisation (``None``: torch's global RNG).

    Shape:
        ``(..., in_features) -> (..., out_features)``.

    Example:
        >>> f = Gauss(2, 3, hidden_features=32, hidden_layers=2, seed=0)
        >>> f(torch.zeros(5, 2)).shape
        torch.Size([5, 3])
    """

    frequency_parameter = "scale"

    def __init__(self, in_features: int = 2, out_features: int = 1, hidden_features: int = 256, hidden_layers: int = 3,
                 scale: float = 10.0, seed: int | None = None) -> None:  # fmt: skip
        super().__init__(in_features, out_features, hidden_features, hidden_layers, seed)
        self.scale = check_positive_float("scale", scale)
        self.reset_parameters(seed)

    def activate(self, i: int, z: Tensor) -> Tensor:
        return torch.exp(-((self.scale * z) ** 2))

    def init_layer(self, i: int, layer: nn.Linear, generator: torch.Generator | None, weight_scale: float) -> None:
        self.default_init_layer(layer, generator, weight_scale)
