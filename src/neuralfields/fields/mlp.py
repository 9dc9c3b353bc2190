"""Coordinate MLPs with a pointwise activation: the shared base of the Gauss and FINER families (and of any
family that is "linear layers, an activation after each but the last").

A family subclasses :class:`ActivationMLP` and supplies :meth:`~ActivationMLP.activate` and
:meth:`~ActivationMLP.init_layer`; the base holds the layers (``layers.{i}``, so that the
``"shared-encoder"`` initialisation and :func:`~neuralfields.training.train_shared_encoder` work), the
forward pass, an explicit batched evaluation and ``reset_parameters(seed, weight_scale)`` (so that the
``"paper"`` and ``"weight-scaling"`` initialisations work).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from .._checks import check_positive_float, check_positive_int, check_seed
from .base import Field

__all__ = ["ActivationMLP", "uniform_", "set_mlp_shape"]


def set_mlp_shape(field: Field, in_features: int, out_features: int, hidden_features: int, hidden_layers: int) -> None:
    """Check the four shape arguments of an MLP family (positive ints) and set them on ``field``."""
    for name, value in (("in_features", in_features), ("out_features", out_features),
                        ("hidden_features", hidden_features), ("hidden_layers", hidden_layers)):  # fmt: skip
        check_positive_int(name, value)
    field.in_features, field.out_features = in_features, out_features
    field.hidden_features, field.hidden_layers = hidden_features, hidden_layers  # type: ignore[attr-defined]


def uniform_(tensor: Tensor, bound: float, generator: torch.Generator | None) -> None:
    """Fill ``tensor`` with ``U(-bound, bound)`` in place (without autograd)."""
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


class ActivationMLP(Field):
    """``in -> hidden_layers x hidden_features -> out``: an activation after every linear map but the last.

    Subclasses call ``super().__init__(...)`` and implement :meth:`activate` and :meth:`init_layer`.

    Args:
        in_features, out_features, hidden_features, hidden_layers: the shape (``hidden_layers`` activated
            layers, then a linear output layer).
        seed: seed of the initialisation (``None``: torch's global RNG).

    Example:
        A ReLU field in a few lines (PyTorch's default initialisation):

        >>> class ReluField(ActivationMLP):
        ...     def __init__(self, in_features=2, out_features=1, hidden_features=16, hidden_layers=2, seed=None):
        ...         super().__init__(in_features, out_features, hidden_features, hidden_layers, seed)
        ...         self.reset_parameters(seed)
        ...     def activate(self, i, z):
        ...         return torch.relu(z)
        ...     def init_layer(self, i, layer, generator, weight_scale):
        ...         self.default_init_layer(layer, generator, weight_scale)
        >>> f = ReluField(out_features=3, seed=0)
        >>> f(torch.zeros(5, 2)).shape, len(f.layers), f.config["hidden_features"]
        (torch.Size([5, 3]), 3, 16)
        >>> bool(torch.equal(f.layers[0].weight, ReluField(out_features=3, seed=0).layers[0].weight))  # seeded
        True
        >>> import neuralfields as nf
        >>> isinstance(nf.Gauss(2, 1, hidden_features=8), ActivationMLP), isinstance(nf.Finer(2, 1, 8), ActivationMLP)
        (True, True)
    """

    def __init__(self, in_features: int, out_features: int, hidden_features: int, hidden_layers: int, seed: int | None) -> None:
        super().__init__()
        set_mlp_shape(self, in_features, out_features, hidden_features, hidden_layers)
        self.seed = check_seed(seed, allow_none=True)
        widths = [in_features] + [hidden_features] * hidden_layers + [out_features]
        device = torch.get_default_device()  # the meta device while a file's config is checked
        self.layers = nn.ModuleList(nn.utils.skip_init(nn.Linear, a, b, device=device) for a, b in zip(widths[:-1], widths[1:]))

    def activate(self, i: int, z: Tensor) -> Tensor:
        """The activation after linear map ``i`` (every map but the last)."""
        raise NotImplementedError(f"{type(self).__name__} must implement activate(i, z)")

    def init_layer(self, i: int, layer: nn.Linear, generator: torch.Generator | None, weight_scale: float) -> None:
        """The family's reference initialisation of linear map ``i`` (weights' bound times ``weight_scale``,
        except the output layer's)."""
        raise NotImplementedError(f"{type(self).__name__} must implement init_layer(i, layer, generator, weight_scale)")

    def reset_parameters(self, seed: int | None = None, weight_scale: float = 1.0) -> None:
        """Draw the weights again from the family's reference initialisation (in place).

        Args:
            seed: seed of the draw (``None``: torch's global RNG); the constructor's ``seed`` gives the
                constructor's weights.
            weight_scale: multiplies the weight bounds of every layer but the output layer (the
                ``"weight-scaling"`` initialisation).
        """
        check_positive_float("weight_scale", weight_scale)
        gen = torch.Generator().manual_seed(check_seed(seed)) if seed is not None else None
        self.init_extra(gen)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            self.init_layer(i, layer, gen, 1.0 if i == last else weight_scale)

    def init_extra(self, generator: torch.Generator | None) -> None:
        """Draw what the family holds besides the layers (first, from the same generator). Default: nothing."""

    def default_init_layer(self, layer: nn.Linear, generator: torch.Generator | None, weight_scale: float) -> None:
        """PyTorch's default bounds ``U(-1/sqrt(n), 1/sqrt(n))`` (``n`` the fan-in) for weights and bias."""
        bound = 1.0 / math.sqrt(layer.in_features)
        uniform_(layer.weight, bound * weight_scale, generator)
        uniform_(layer.bias, bound, generator)

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the field: ``(..., in_features) -> (..., out_features)``."""
        self.check_coords(coords)
        return self.mlp(coords)

    def mlp(self, h: Tensor) -> Tensor:
        """The layers and activations on inputs ``(..., layers[0].in_features)`` (the batched arithmetic with
        one member: a field and a member of a batch give the same values, even where the activation
        amplifies rounding)."""
        lead = h.shape[:-1]
        params = {name: p.unsqueeze(0) for name, p in self.layers.named_parameters(prefix="layers")}
        out = self.mlp_batched(params, h.reshape(1, -1, h.shape[-1]))
        return out.reshape(*lead, out.shape[-1])

    def forward_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> Tensor:
        """Evaluate ``B`` parameter sets at once: ``params`` name -> ``(B, *shape)``, ``coords (B, N, d)`` ->
        ``(B, N, out_features)``."""
        self.check_batched(params, coords)
        return self.mlp_batched(params, coords)

    def mlp_batched(self, params: Mapping[str, Tensor], h: Tensor) -> Tensor:
        """The layers of ``B`` parameter sets on inputs ``(B, N, layers[0].in_features)``."""
        last = len(self.layers) - 1
        for i in range(len(self.layers)):
            w, b = params[f"layers.{i}.weight"], params[f"layers.{i}.bias"]
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < last:
                h = self.activate(i, h)
        return h
