"""A multiresolution hash-grid encoding and a small ReLU MLP, in pure PyTorch (Müller et al., "Instant neural
graphics primitives with a multiresolution hash encoding", SIGGRAPH 2022)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from .._checks import check_positive_int
from .._registry import register
from ..errors import ConfigError
from .mlp import ActivationMLP, uniform_

__all__ = ["HashGrid"]

_PRIMES = (1, 2654435761, 805459861, 3674653429, 2097192037, 1434869437, 2165219737)
"""The spatial hash's per-dimension primes (the first is 1, as in the paper)."""


@register("field", "hash-grid", example={"levels": 4, "table_size": 256, "base_resolution": 4, "max_resolution": 32,
                                         "hidden_features": 16, "hidden_layers": 1, "seed": 0})  # fmt: skip
class HashGrid(ActivationMLP):
    """A multiresolution hash-grid encoding followed by a ReLU MLP.

    Level ``l`` of ``levels`` is a grid of resolution ``N_l = floor(base_resolution * b^l)``, ``b`` growing
    geometrically from ``base_resolution`` to ``max_resolution``; each grid vertex owns ``features_per_level``
    trainable values in a table of ``table_size`` rows (directly indexed when the grid fits, else through a
    spatial hash: the XOR of the vertex coordinates times large primes, modulo the table size). A point's
    features are the d-linear interpolation of its cell's ``2^d`` vertices at every level, concatenated,
    then the MLP. Coordinates in [-1, 1] map to the unit cube. Reference defaults (the paper's): 16 levels,
    2 features per level, tables of ``2^19`` rows (here ``2^16``, kinder to a CPU), base resolution 16, table
    values from ``U(-1e-4, 1e-4)``, an MLP of 2 hidden layers of 64; ``max_resolution`` 512 suits images of
    up to about 512 pixels a side. The paper trains it with Adam at ``lr`` 1e-2, ten times
    :func:`~neuralfields.fit`'s default: pass ``lr=1e-2``.

    Args:
        in_features, out_features: coordinate dimension (1 to 7) and channels.
        levels, features_per_level: the encoding's levels and values per vertex.
        table_size: rows of each level's table (a power of two).
        base_resolution, max_resolution: the coarsest and finest grid resolutions.
        hidden_features, hidden_layers: the MLP.
        seed: seed of the initialisation (``None``: torch's global RNG).

    Shape:
        ``(..., in_features) -> (..., out_features)``.

    Example:
        >>> f = HashGrid(2, 1, levels=4, table_size=2**10, seed=0)
        >>> f(torch.zeros(5, 2)).shape, tuple(f.table.shape)
        (torch.Size([5, 1]), (4, 1024, 2))
    """

    def __init__(self, in_features: int = 2, out_features: int = 1, levels: int = 16, features_per_level: int = 2,
                 table_size: int = 2**16, base_resolution: int = 16, max_resolution: int = 512, hidden_features: int = 64,
                 hidden_layers: int = 2, seed: int | None = None) -> None:  # fmt: skip
        for name, value in (("levels", levels), ("features_per_level", features_per_level), ("table_size", table_size),
                            ("base_resolution", base_resolution), ("max_resolution", max_resolution)):  # fmt: skip
            check_positive_int(name, value)
        check_positive_int("in_features", in_features)
        if table_size & (table_size - 1):
            raise ConfigError(f"table_size must be a power of two (the hash is taken modulo it), got {table_size}")
        if in_features > len(_PRIMES):
            raise ConfigError(f"a hash grid supports up to {len(_PRIMES)} coordinate dimensions, got {in_features}")
        if max_resolution < base_resolution:
            raise ConfigError(f"max_resolution ({max_resolution}) must be at least base_resolution ({base_resolution})")
        super().__init__(levels * features_per_level, out_features, hidden_features, hidden_layers, seed)
        self.in_features, self.levels, self.features_per_level = in_features, levels, features_per_level
        self.table_size, self.base_resolution, self.max_resolution = table_size, base_resolution, max_resolution
        growth = math.exp((math.log(max_resolution) - math.log(base_resolution)) / max(1, levels - 1))
        self.resolutions = [int(math.floor(base_resolution * growth**level + 1e-6)) for level in range(levels)]  # 1e-6: 511.99.. is 512
        self.table = nn.Parameter(torch.empty(levels, table_size, features_per_level, device=torch.get_default_device()))
        corners = torch.tensor([[(c >> k) & 1 for k in range(in_features)] for c in range(2**in_features)])
        self.register_buffer("corners", corners, persistent=False)
        self.reset_parameters(seed)

    def init_extra(self, generator: torch.Generator | None) -> None:
        uniform_(self.table, 1e-4, generator)

    def activate(self, i: int, z: Tensor) -> Tensor:
        return torch.relu(z)

    def init_layer(self, i: int, layer: nn.Linear, generator: torch.Generator | None, weight_scale: float) -> None:
        self.default_init_layer(layer, generator, weight_scale)

    def _index(self, vertex: Tensor, level: int) -> Tensor:
        """Table rows of integer grid vertices ``(..., d)`` at ``level``."""
        n = self.resolutions[level] + 1
        if n**self.in_features <= self.table_size:  # the grid fits: one row per vertex
            strides = torch.tensor([n**k for k in range(self.in_features)], device=vertex.device)
            return (vertex * strides).sum(-1)
        h = vertex[..., 0] * _PRIMES[0]
        for k in range(1, self.in_features):
            h = torch.bitwise_xor(h, vertex[..., k] * _PRIMES[k])
        return h & (self.table_size - 1)

    def encode(self, coords: Tensor, table: Tensor) -> Tensor:
        """Features ``(B, N, levels * features_per_level)`` of coordinates ``(B, N, d)`` from tables
        ``(B, levels, table_size, features_per_level)``."""
        unit = (coords + 1.0) * 0.5
        b, n, d = coords.shape
        out = []
        for level, res in enumerate(self.resolutions):
            pos = unit * res
            cell = pos.detach().floor().clamp(0, res - 1)
            frac = pos - cell
            vertex = cell.long().unsqueeze(-2) + self.corners  # (B, N, 2^d, d)
            rows = self._index(vertex, level).reshape(b, -1, 1).expand(-1, -1, self.features_per_level)
            values = torch.gather(table[:, level], 1, rows).reshape(b, n, -1, self.features_per_level)
            c = self.corners.to(frac.dtype)
            weight = (c * frac.unsqueeze(-2) + (1 - c) * (1 - frac.unsqueeze(-2))).prod(-1)  # (B, N, 2^d)
            out.append((weight.unsqueeze(-1) * values).sum(-2))
        return torch.cat(out, dim=-1)

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the field: ``(..., in_features) -> (..., out_features)``."""
        self.check_coords(coords)
        lead = coords.shape[:-1]
        flat = coords.reshape(1, -1, self.in_features)
        return self.mlp(self.encode(flat, self.table.unsqueeze(0))).reshape(*lead, self.out_features)

    def forward_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> Tensor:
        """Evaluate ``B`` parameter sets (tables and MLPs) at once on ``coords (B, N, d)``."""
        self.check_batched(params, coords)
        return self.mlp_batched(params, self.encode(coords, params["table"]))
