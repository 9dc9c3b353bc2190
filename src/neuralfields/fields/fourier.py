"""Fourier-feature MLPs (Tancik et al., "Fourier features let networks learn high frequency functions in low
dimensional domains", NeurIPS 2020)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from .._checks import check_positive_float, check_positive_int
from .._registry import register
from .mlp import ActivationMLP

__all__ = ["FourierFeatures"]


@register("field", "fourier-features", example={"num_frequencies": 8, "hidden_features": 16, "hidden_layers": 2, "seed": 0})
class FourierFeatures(ActivationMLP):
    """Random Fourier features ``[cos(2 pi B x), sin(2 pi B x)]`` with ``B ~ N(0, sigma^2)``, then a ReLU MLP.

    ``B`` (``num_frequencies x in_features``) is fixed: a buffer drawn from ``seed``, saved with the field and
    not trained. ``sigma`` plays the part of SIREN's ``omega_0``: larger for finer detail. Reference defaults:
    256 frequencies, ``sigma`` 5, ReLU layers with PyTorch's default initialisation. The paper's best
    Gaussian scale for natural images is 10 on coordinates in [0, 1); the fields' coordinates span [-1, 1],
    twice as long, so the same features need half the scale here.

    Args:
        in_features, out_features, hidden_features, hidden_layers: the shape (``hidden_layers`` ReLU
            layers after the features, then a linear output layer).
        num_frequencies: rows of ``B`` (the features have twice as many channels).
        sigma: standard deviation of ``B``'s entries (> 0).
        seed: seed of ``B`` and the initialisation (``None``: torch's global RNG).

    Shape:
        ``(..., in_features) -> (..., out_features)``.

    Example:
        >>> f = FourierFeatures(2, 1, num_frequencies=16, hidden_features=32, hidden_layers=2, seed=0)
        >>> f(torch.zeros(5, 2)).shape, tuple(f.frequencies.shape)
        (torch.Size([5, 1]), (16, 2))
    """

    frequency_parameter = "sigma"

    def __init__(self, in_features: int = 2, out_features: int = 1, num_frequencies: int = 256, sigma: float = 5.0,
                 hidden_features: int = 256, hidden_layers: int = 3, seed: int | None = None) -> None:  # fmt: skip
        check_positive_int("num_frequencies", num_frequencies)
        super().__init__(2 * num_frequencies, out_features, hidden_features, hidden_layers, seed)
        check_positive_int("in_features", in_features)
        self.in_features, self.num_frequencies = in_features, num_frequencies
        self.sigma = check_positive_float("sigma", sigma)
        device = torch.get_default_device()
        self.register_buffer("frequencies", torch.empty(num_frequencies, in_features, device=device))
        self.reset_parameters(seed)

    def init_extra(self, generator: torch.Generator | None) -> None:
        with torch.no_grad():
            self.frequencies.normal_(0.0, self.sigma, generator=generator)

    def activate(self, i: int, z: Tensor) -> Tensor:
        return torch.relu(z)

    def init_layer(self, i: int, layer: nn.Linear, generator: torch.Generator | None, weight_scale: float) -> None:
        self.default_init_layer(layer, generator, weight_scale)

    def features(self, coords: Tensor) -> Tensor:
        """``(..., in_features) -> (..., 2 num_frequencies)``: ``[cos(2 pi B x), sin(2 pi B x)]``."""
        proj = (2.0 * math.pi) * (coords @ self.frequencies.t())
        return torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the field: ``(..., in_features) -> (..., out_features)``."""
        self.check_coords(coords)
        return self.mlp(self.features(coords))

    def forward_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> Tensor:
        """Evaluate ``B`` parameter sets at once (``B`` the frequencies are shared: they are a buffer)."""
        self.check_batched(params, coords)
        return self.mlp_batched(params, self.features(coords))
