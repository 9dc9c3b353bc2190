"""An example neuralfields plugin: a Fourier-feature MLP field registered as ``"example-fourier"``."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

import neuralfields as nf

__all__ = ["FourierFeatureField"]


# `example=` is a small configuration that builds a fast instance: the contract suites of
# neuralfields.testing (tests/test_contracts.py) and the docs use it.
@nf.register("field", "example-fourier", example={"num_frequencies": 8, "hidden_features": 16, "hidden_layers": 1})
class FourierFeatureField(nf.Field):
    """Random Fourier features ``[sin(2 pi B x), cos(2 pi B x)]`` followed by a ReLU MLP.

    Args:
        in_features: coordinate dimension.
        out_features: output channels.
        num_frequencies: rows of the fixed random frequency matrix ``B``.
        scale: standard deviation of ``B``'s entries.
        hidden_features: width of the MLP.
        hidden_layers: number of hidden ReLU layers.
        seed: seed of ``B`` and of the MLP's initialisation.
    """

    def __init__(
        self,
        in_features: int = 2,
        out_features: int = 1,
        num_frequencies: int = 64,
        scale: float = 10.0,
        hidden_features: int = 128,
        hidden_layers: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.num_frequencies, self.scale = num_frequencies, scale
        self.hidden_features, self.hidden_layers, self.seed = hidden_features, hidden_layers, seed
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("frequencies", torch.randn(num_frequencies, in_features, generator=gen) * scale)
        widths = [2 * num_frequencies] + [hidden_features] * hidden_layers + [out_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            linear = nn.utils.skip_init(nn.Linear, a, b, device=torch.get_default_device())  # values from the seed only
            bound = math.sqrt(6.0 / a) / 2.0
            with torch.no_grad():
                linear.weight.uniform_(-bound, bound, generator=gen)
                linear.bias.zero_()
            layers.append(linear)
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.mlp = nn.Sequential(*layers)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "num_frequencies": self.num_frequencies,
            "scale": self.scale,
            "hidden_features": self.hidden_features,
            "hidden_layers": self.hidden_layers,
            "seed": self.seed,
        }

    def forward(self, coords: Tensor) -> Tensor:
        self.check_coords(coords)
        proj = 2.0 * math.pi * coords @ self.frequencies.T
        return self.mlp(torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1))
