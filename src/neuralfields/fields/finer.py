"""FINER: variable-periodic sine activations (Liu et al., "FINER: flexible spectral-bias tuning in implicit
neural representation by variable-periodic activation functions", CVPR 2024)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._checks import check_positive_float
from .._registry import register
from .mlp import ActivationMLP, uniform_
from .siren import init_bounds

__all__ = ["Finer"]


@register("field", "finer", example={"hidden_features": 16, "hidden_layers": 2, "seed": 0})
class Finer(ActivationMLP):
    """Linear layers with the activation ``sin(omega_0 * (|z| + 1) * z)``, then a linear output layer.

    The factor ``|z| + 1`` makes the period shrink as ``|z|`` grows, so a layer covers a band of
    frequencies; a wide first-layer bias spreads the units over that band. Reference defaults:
    ``omega_0`` 30, SIREN's weight initialisation, the first layer's bias ``U(-k, k)`` with
    ``first_bias_scale`` ``k = 20`` (the other biases PyTorch's default ``U(-1/sqrt(n), 1/sqrt(n))``).

    One deviation from the authors' code: there the factor ``|z| + 1`` is computed without gradient by
    default; here the activation is differentiated as written (so that derivatives of the field with
    respect to its coordinates are the true ones), which makes the first layer's gradients up to about
    twice as large.

    Args:
        in_features, out_features, hidden_features, hidden_layers: the shape.
        first_omega_0, hidden_omega_0: frequency factors of the first and the other layers (> 0).
        first_bias_scale: ``k`` of the first layer's bias (> 0).
        seed: seed of the initialisation (``None``: torch's global RNG).

    Shape:
        ``(..., in_features) -> (..., out_features)``.

    Example:
        >>> f = Finer(2, 1, hidden_features=32, hidden_layers=2, seed=0)
        >>> f(torch.zeros(5, 2)).shape
        torch.Size([5, 1])
    """

    frequency_parameter = "first_omega_0"

    def __init__(self, in_features: int = 2, out_features: int = 1, hidden_features: int = 256, hidden_layers: int = 3,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, first_bias_scale: float = 20.0,
                 seed: int | None = None) -> None:  # fmt: skip
        super().__init__(in_features, out_features, hidden_features, hidden_layers, seed)
        self.first_omega_0 = check_positive_float("first_omega_0", first_omega_0)
        self.hidden_omega_0 = check_positive_float("hidden_omega_0", hidden_omega_0)
        self.first_bias_scale = check_positive_float("first_bias_scale", first_bias_scale)
        self.reset_parameters(seed)

    def omega(self, i: int) -> float:
        """The frequency factor of layer ``i``."""
        return self.first_omega_0 if i == 0 else self.hidden_omega_0

    def activate(self, i: int, z: Tensor) -> Tensor:
        return torch.sin(self.omega(i) * (z.abs() + 1.0) * z)

    def init_layer(self, i: int, layer: nn.Linear, generator: torch.Generator | None, weight_scale: float) -> None:
        bound, _ = init_bounds(layer.in_features, self.omega(i), i == 0)
        uniform_(layer.weight, bound * weight_scale, generator)
        uniform_(layer.bias, self.first_bias_scale if i == 0 else 1.0 / math.sqrt(layer.in_features), generator)
