"""WIRE: complex Gabor wavelet activations (Saragadam et al., "WIRE: wavelet implicit neural
representations", CVPR 2023).

The complex numbers are held as pairs of real tensors (real and imaginary parts), so that the field
saves to safetensors, compiles and runs everywhere a real network does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from .._checks import check_positive_float, check_seed
from .._registry import register
from .base import Field
from .mlp import set_mlp_shape, uniform_

__all__ = ["Wire", "ComplexLinear"]


class ComplexLinear(nn.Module):
    """A linear map with complex weights and bias, held as real and imaginary parts.

    ``(a + ib) -> (W_re + i W_im)(a + ib) + (b_re + i b_im)``, on the parts ``(..., in)`` each. A map whose
    imaginary part is dropped (an output layer) has no ``bias_im``.
    """

    def __init__(self, in_features: int, out_features: int, imaginary_bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        device = torch.get_default_device()
        self.weight_re = nn.Parameter(torch.empty(out_features, in_features, device=device))
        self.weight_im = nn.Parameter(torch.empty(out_features, in_features, device=device))
        self.bias_re = nn.Parameter(torch.empty(out_features, device=device))
        self.bias_im = nn.Parameter(torch.empty(out_features, device=device)) if imaginary_bias else None


def _gabor(re: Tensor, im: Tensor, omega: float, scale: float) -> tuple[Tensor, Tensor]:
    """``exp(i omega z - |scale z|^2)`` of ``z = re + i im``, as ``(real, imaginary)`` parts."""
    envelope = torch.exp(-(scale**2) * (re * re + im * im) - omega * im)
    phase = omega * re
    return envelope * torch.cos(phase), envelope * torch.sin(phase)


@register("field", "wire", example={"hidden_features": 16, "hidden_layers": 2, "seed": 0})
class Wire(Field):
    """A real first layer, complex layers after it, each followed by the complex Gabor wavelet
    ``exp(i omega_0 z - |scale z|^2)``; the output is the real part of a last complex linear map.

    Reference defaults: ``omega_0`` 20 and ``scale`` 10 (the authors' image settings) and PyTorch's default
    initialisation ``U(-1/sqrt(n), 1/sqrt(n))`` of every part. A complex layer holds twice the
    parameters of a real one of the same width; the authors shrink the width by ``sqrt(2)`` to compare at
    equal parameter counts.

    Args:
        in_features, out_features, hidden_features, hidden_layers: the shape (``hidden_layers`` wavelet
            layers, then the linear output map).
        first_omega_0, hidden_omega_0: the wavelet's frequency after the first and the other layers (> 0).
        scale: the wavelet's envelope scale (> 0).
        seed: seed of the initialisation (``None``: torch's global RNG).

    Shape:
        ``(..., in_features) -> (..., out_features)``.

    Example:
        >>> f = Wire(2, 3, hidden_features=16, hidden_layers=2, seed=0)
        >>> f(torch.zeros(5, 2)).shape
        torch.Size([5, 3])
    """

    frequency_parameter = "first_omega_0"

    def __init__(self, in_features: int = 2, out_features: int = 1, hidden_features: int = 256, hidden_layers: int = 3,
                 first_omega_0: float = 20.0, hidden_omega_0: float = 20.0, scale: float = 10.0,
                 seed: int | None = None) -> None:  # fmt: skip
        super().__init__()
        set_mlp_shape(self, in_features, out_features, hidden_features, hidden_layers)
        self.first_omega_0 = check_positive_float("first_omega_0", first_omega_0)
        self.hidden_omega_0 = check_positive_float("hidden_omega_0", hidden_omega_0)
        self.scale = check_positive_float("scale", scale)
        self.seed = check_seed(seed, allow_none=True)
        first = nn.utils.skip_init(nn.Linear, in_features, hidden_features, device=torch.get_default_device())
        rest = [ComplexLinear(hidden_features, hidden_features) for _ in range(hidden_layers - 1)]
        self.layers = nn.ModuleList([first, *rest, ComplexLinear(hidden_features, out_features, imaginary_bias=False)])
        self.reset_parameters(seed)

    def omega(self, i: int) -> float:
        """The wavelet's frequency after layer ``i``."""
        return self.first_omega_0 if i == 0 else self.hidden_omega_0

    def reset_parameters(self, seed: int | None = None, weight_scale: float = 1.0) -> None:
        """Draw the weights again (PyTorch's default bounds; ``weight_scale`` multiplies the weight bounds of
        every layer but the output layer)."""
        check_positive_float("weight_scale", weight_scale)
        gen = torch.Generator().manual_seed(check_seed(seed)) if seed is not None else None
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            bound, scale = 1.0 / math.sqrt(layer.in_features), 1.0 if i == last else weight_scale
            for name, p in layer.named_parameters():
                uniform_(p, bound * (scale if "weight" in name else 1.0), gen)

    def _apply_layers(self, x: Tensor, layer_params: list[dict[str, Tensor]], linear: object) -> Tensor:
        first = layer_params[0]
        re = linear(x, first["weight"], first["bias"])  # type: ignore[operator]
        re, im = _gabor(re, torch.zeros_like(re), self.omega(0), self.scale)
        for i, p in enumerate(layer_params[1:], 1):
            new_re = linear(re, p["weight_re"], p["bias_re"]) - linear(im, p["weight_im"], None)  # type: ignore[operator]
            if i == len(layer_params) - 1:  # the output: the real part
                return new_re
            new_im = linear(re, p["weight_im"], p["bias_im"]) + linear(im, p["weight_re"], None)  # type: ignore[operator]
            re, im = _gabor(new_re, new_im, self.omega(i), self.scale)
        raise AssertionError("unreachable: a Wire has an output layer")

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the field: ``(..., in_features) -> (..., out_features)``."""
        self.check_coords(coords)
        layers = [dict(layer.named_parameters()) for layer in self.layers]
        return self._apply_layers(coords, layers, nn.functional.linear)

    def forward_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> Tensor:
        """Evaluate ``B`` parameter sets at once: ``params`` name -> ``(B, *shape)``, ``coords (B, N, d)`` ->
        ``(B, N, out_features)``."""
        self.check_batched(params, coords)
        layers = [{name: params[f"layers.{i}.{name}"] for name, _ in layer.named_parameters()} for i, layer in enumerate(self.layers)]

        def linear(h: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
            out = torch.bmm(h, w.transpose(1, 2))
            return out if b is None else out + b.unsqueeze(1)

        return self._apply_layers(coords, layers, linear)
