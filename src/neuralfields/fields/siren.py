"""SIREN: sinusoidal representation networks (Sitzmann et al., 2020)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import Tensor, nn

from .._checks import check_positive_float, check_positive_int, check_seed
from .._registry import register
from ..errors import ConfigError, ShapeError
from ..kernels import TRITON_AVAILABLE, sine_layer, sine_layer_batched
from .base import Field

__all__ = ["Siren", "BottleneckSiren", "SirenLayer", "siren_init_", "init_bounds", "Modulation", "BACKENDS", "resolve_backend"]

BACKENDS = ("auto", "eager", "fused")
"""How a :class:`Siren` computes its sine layers: ``"eager"`` (``torch.sin`` of a linear layer),
``"fused"`` (the :func:`~neuralfields.kernels.sine_layer` op: one buffer per layer, a backward that
recomputes the pre-activation) or ``"auto"`` (see :func:`resolve_backend`)."""


def resolve_backend(backend: str, x: Tensor) -> str:
    """The backend ``"auto"`` stands for on ``x``'s device: ``"fused"`` on CUDA with Triton, ``"eager"``
    elsewhere. With the eager backend :func:`~neuralfields.fit` trains a :class:`Siren` through its
    hand-written step (:func:`neuralfields.training.accumulate_mse_grad`), the fastest and leanest step measured on the
    CPU (``benchmarks/RESULTS.md``, ``train_step.py``); ``"fused"`` keeps about half the activation
    memory of autograd through the eager layers, for code that trains with autograd itself.

    Example:
        >>> resolve_backend("auto", torch.zeros(1))  # a CPU tensor
        'eager'
        >>> resolve_backend("fused", torch.zeros(1))  # an explicit choice is kept
        'fused'
    """
    if backend != "auto":
        return backend
    if x.is_cuda and TRITON_AVAILABLE:
        return "fused"
    return "eager"

Modulation = tuple[Optional[Tensor], Optional[Tensor]]
"""A FiLM modulation of one sine layer: ``(scale, shift)``, either may be ``None``."""


def init_bounds(fan_in: int, omega_0: float, first: bool) -> tuple[float, float]:
    """The reference initialisation's bounds ``(weight, bias)`` of a layer with ``fan_in`` inputs.

    Example:
        >>> init_bounds(4, 30.0, first=True)
        (0.25, 0.5)
    """
    weight = 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega_0
    return weight, 1.0 / math.sqrt(fan_in)


@dataclass(frozen=True)
class SirenLayer:
    """One linear map of a :class:`Siren`: the public parameter layout that code emitting or stepping a
    SIREN's weights uses (the HyperSiren heads, the hand-written training step).

    Attributes:
        index: position in the network (0 is the first layer).
        weight: the weight's parameter name (``(out_features, in_features)``).
        bias: the bias's parameter name (``(out_features,)``).
        in_features: inputs of the layer.
        out_features: outputs of the layer.
        omega_0: the layer's frequency factor (for the linear output layer, the one of its init).
        sine: whether a sine follows the linear map (``False`` for a linear output layer).
        weight_bound: the reference init's weight bound.
        bias_bound: the reference init's bias bound.
    """

    index: int
    weight: str
    bias: str
    in_features: int
    out_features: int
    omega_0: float
    sine: bool
    weight_bound: float
    bias_bound: float


def siren_init_(
    linear: nn.Linear, omega_0: float, first: bool, generator: torch.Generator | None = None, weight_scale: float = 1.0
) -> None:
    """Reference SIREN initialisation of one linear layer, in place.

    First layer: weights ``U(-1/n, 1/n)``; other layers: ``U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0)``,
    with ``n`` the fan-in. Biases keep PyTorch's default ``U(-1/sqrt(n), 1/sqrt(n))``, as in the
    reference code. ``weight_scale`` multiplies the weights' bound (1 is the reference).

    Example:
        >>> layer = torch.nn.Linear(64, 64)
        >>> siren_init_(layer, omega_0=30.0, first=False, generator=torch.Generator().manual_seed(0))
        >>> weight_bound, bias_bound = init_bounds(64, 30.0, first=False)  # sqrt(6 / 64) / 30 and 1 / 8
        >>> w, b = layer.weight.detach(), layer.bias.detach()
        >>> round(float(w.abs().max()) / weight_bound, 2), float(b.abs().max()) <= bias_bound
        (1.0, True)
    """
    bound, b = init_bounds(linear.in_features, omega_0, first)
    bound *= weight_scale
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound, generator=generator)
        if linear.bias is not None:
            linear.bias.uniform_(-b, b, generator=generator)


@register("field", "siren", example={"hidden_features": 16, "hidden_layers": 2, "seed": 0})
class Siren(Field):
    """A SIREN: sine layers ``sin(omega_0 * (x W^T + b))`` followed by a linear output layer.

    ``hidden_layers`` counts the sine layers, each ``hidden_features`` wide: ``hidden_layers=3`` is
    ``in -> 256 -> 256 -> 256 -> out`` (three sine layers and a linear layer, four linear maps).

    Args:
        in_features: coordinate dimension (2 for images).
        out_features: channels of the signal (1 grey, 3 RGB).
        hidden_features: width of the sine layers.
        hidden_layers: number of sine layers (at least 1).
        first_omega_0: frequency factor of the first layer.
        hidden_omega_0: frequency factor of the other sine layers (and of the output layer's init).
        outermost_linear: ``True`` (default) for a linear output layer, ``False`` for a sine one.
        seed: seed of the initialisation (``None`` uses the global RNG).
        backend: ``"auto"`` (default), ``"eager"`` or ``"fused"`` (see :data:`BACKENDS`); all give the
            same values to rounding. Modulated sine layers always run eagerly. An execution choice, not
            part of the field's identity: it is not in :attr:`config` and not saved.

    Shape:
        ``(..., in_features) -> (..., out_features)``.

    Example:
        >>> f = Siren(in_features=2, out_features=3, hidden_features=32, hidden_layers=2, seed=0)
        >>> f(torch.zeros(10, 2)).shape
        torch.Size([10, 3])
    """

    _nf_execution = ("backend",)
    frequency_parameter = "first_omega_0"
    """The constructor argument that sets which frequencies the field reaches (see :func:`neuralfields.suggest_frequency`)."""

    def __init__(
        self,
        in_features: int = 2,
        out_features: int = 1,
        hidden_features: int = 256,
        hidden_layers: int = 3,
        first_omega_0: float = 30.0,
        hidden_omega_0: float = 30.0,
        outermost_linear: bool = True,
        seed: int | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}; use one of {BACKENDS}")
        self.backend = backend
        for name, value in [
            ("in_features", in_features),
            ("out_features", out_features),
            ("hidden_features", hidden_features),
            ("hidden_layers", hidden_layers),
        ]:
            check_positive_int(name, value)
        check_positive_float("first_omega_0", first_omega_0)
        check_positive_float("hidden_omega_0", hidden_omega_0)
        self.in_features = in_features
        self.out_features = out_features
        self.hidden_features = hidden_features
        self.hidden_layers = hidden_layers
        self.first_omega_0 = float(first_omega_0)
        self.hidden_omega_0 = float(hidden_omega_0)
        self.outermost_linear = bool(outermost_linear)
        self.seed = check_seed(seed, allow_none=True)

        widths = [in_features, *self._hidden_widths(), out_features]
        # skip_init: the layers get their values from siren_init_ alone (the global RNG is not drawn from
        # when a seed is given)
        device = torch.get_default_device()  # the meta device while a file's config is checked
        self.layers = nn.ModuleList(
            nn.utils.skip_init(nn.Linear, a, b, device=device) for a, b in zip(widths[:-1], widths[1:])
        )
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int | None = None, weight_scale: float = 1.0) -> None:
        """Draw the weights again from the reference initialisation (in place).

        Args:
            seed: seed of the draw (``None`` uses the global RNG); the constructor's ``seed`` gives the
                constructor's weights.
            weight_scale: multiplies the weights' bounds of every layer but the output layer ("weight
                scaling", the ``"weight-scaling"`` initialisation); biases and the output layer keep the
                reference bounds.
        """
        check_positive_float("weight_scale", weight_scale)
        gen = torch.Generator().manual_seed(check_seed(seed)) if seed is not None else None
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            siren_init_(layer, self.omega(i), first=i == 0, generator=gen, weight_scale=1.0 if i == last else weight_scale)

    def _hidden_widths(self) -> list[int]:
        """Widths of the sine layers (subclasses change the shape here)."""
        return [self.hidden_features] * self.hidden_layers

    def omega(self, i: int) -> float:
        """The frequency factor of layer ``i`` (0 is the first layer)."""
        return self.first_omega_0 if i == 0 else self.hidden_omega_0

    def is_sine(self, i: int) -> bool:
        """Whether a sine follows linear map ``i`` (every layer but a linear output layer)."""
        return i < len(self.layers) - 1 or not self.outermost_linear

    @property
    def layout(self) -> list[SirenLayer]:
        """The parameter layout, one :class:`SirenLayer` per linear map, in order.

        Example:
            >>> [(l.weight, l.out_features, l.sine) for l in Siren(2, 1, 8, hidden_layers=1).layout]
            [('layers.0.weight', 8, True), ('layers.1.weight', 1, False)]
        """
        out = []
        for i, layer in enumerate(self.layers):
            wb, bb = init_bounds(layer.in_features, self.omega(i), i == 0)
            out.append(SirenLayer(
                i, f"layers.{i}.weight", f"layers.{i}.bias", layer.in_features, layer.out_features,
                self.omega(i), self.is_sine(i), wb, bb,
            ))  # fmt: skip
        return out

    @property
    def sine_widths(self) -> list[int]:
        """Widths of the sine layers, in order (what modulations must match)."""
        return [layer.out_features for i, layer in enumerate(self.layers) if self.is_sine(i)]

    def forward(self, coords: Tensor, modulations: Sequence[Modulation] | None = None) -> Tensor:
        """Evaluate the field: ``(..., in_features) -> (..., out_features)``.

        Args:
            coords: coordinates ``(..., in_features)``.
            modulations: optional FiLM modulations, one ``(scale, shift)`` pair per sine layer
                (either may be ``None``), each broadcastable to ``(..., width)``: sine layer ``i``
                computes ``sin(omega_0 * (scale_i * (W_i h + b_i) + shift_i))``.
        """
        self.check_coords(coords)
        return self._run(coords, 0, len(self.layers), modulations)

    def activations(self, coords: Tensor, layer: int, modulations: Sequence[Modulation] | None = None) -> Tensor:
        """Activations after sine layer ``layer`` (0-based): ``(..., in_features) -> (..., width)``.

        ``layer=-1`` gives the last hidden layer. ``modulations`` as in :meth:`forward`.
        """
        self.check_coords(coords)
        return self._run(coords, 0, self._check_layer(layer) + 1, modulations)

    def decode_from(self, h: Tensor, layer: int, modulations: Sequence[Modulation] | None = None) -> Tensor:
        """Continue the forward pass from the activations of sine layer ``layer`` (see :meth:`activations`)."""
        start = self._check_layer(layer) + 1
        if h.shape[-1] != self.layers[start].in_features:
            raise ShapeError(
                f"activations of sine layer {layer} have {self.layers[start].in_features} channels, got {h.shape[-1]}"
            )
        return self._run(h, start, len(self.layers), modulations)

    def _run(self, h: Tensor, start: int, stop: int, modulations: Sequence[Modulation] | None) -> Tensor:
        """Layers ``start .. stop - 1`` (with their modulations) applied to ``h``."""
        if modulations is not None and len(modulations) != len(self.sine_widths):
            raise ShapeError(
                f"expected one (scale, shift) modulation per sine layer ({len(self.sine_widths)}), "
                f"got {len(modulations)}"
            )
        fused = resolve_backend(self.backend, h) == "fused"
        for i in range(start, stop):
            layer = self.layers[i]
            mod = modulations[i] if modulations is not None and self.is_sine(i) else (None, None)
            if self.is_sine(i) and mod[0] is None and mod[1] is None:
                if fused:
                    h = sine_layer(h, layer.weight, layer.bias, self.omega(i))
                else:  # omega_0 folded into the matrix product: one elementwise pass fewer each way
                    w0 = self.omega(i)
                    z = torch.addmm(layer.bias, h.reshape(-1, h.shape[-1]), layer.weight.t(), beta=w0, alpha=w0)
                    h = torch.sin(z).reshape(*h.shape[:-1], layer.out_features)
                continue
            h = layer(h)
            if self.is_sine(i):
                scale, shift = mod
                h = h if scale is None else h * scale
                h = h if shift is None else h + shift
                h = torch.sin(self.omega(i) * h)
        return h

    def _check_layer(self, layer: int) -> int:
        n = len(self.layers) - 1  # hidden (sine) layers that feed another layer
        if not isinstance(layer, int) or not -n <= layer < n:
            raise ConfigError(f"layer must be a hidden sine layer index in [{-n}, {n - 1}], got {layer!r}")
        return layer % n

    def forward_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> Tensor:
        """Evaluate ``B`` parameter sets at once with batched matrix products.

        Args:
            params: dict name -> ``(B, *param.shape)`` (see :meth:`Field.batch_parameters`).
            coords: ``(B, N, in_features)``.

        Returns:
            ``(B, N, out_features)``.
        """
        self.check_batched(params, coords)
        fused = resolve_backend(self.backend, coords) == "fused"
        h = coords
        for i in range(len(self.layers)):
            w = params[f"layers.{i}.weight"]
            b = params[f"layers.{i}.bias"]
            if self.is_sine(i) and fused:
                h = sine_layer_batched(h, w, b, self.omega(i))
            elif self.is_sine(i):  # omega_0 folded into the matrix product
                w0 = self.omega(i)
                h = torch.sin(torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2), beta=w0, alpha=w0))
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        return h


@register("field", "bottleneck-siren", example={"hidden_features": 16, "hidden_layers": 3, "bottleneck_factor": 4, "seed": 0})
class BottleneckSiren(Siren):
    """A SIREN whose middle sine layer is ``bottleneck_factor`` times narrower.

    The bottleneck's activations are a compact embedding of each coordinate's signal. Read them with
    :meth:`encode` and decode from them with :meth:`decode`: ``decode(encode(x)) == forward(x)``.

    Args:
        hidden_layers: sine layers (default 5; the middle one, index ``hidden_layers // 2``, is narrow).
        bottleneck_factor: how many times narrower the middle layer is (its width is at least 1).
        **kwargs: the other :class:`Siren` arguments.

    Example:
        >>> f = BottleneckSiren(2, 1, hidden_features=64, bottleneck_factor=8, seed=0)
        >>> f.sine_widths
        [64, 64, 8, 64, 64]
        >>> x = torch.rand(10, 2)
        >>> f.encode(x).shape, bool(torch.allclose(f.decode(f.encode(x)), f(x)))
        (torch.Size([10, 8]), True)
    """

    def __init__(
        self,
        in_features: int = 2,
        out_features: int = 1,
        hidden_features: int = 256,
        hidden_layers: int = 5,
        bottleneck_factor: int = 8,
        **kwargs: Any,
    ) -> None:
        check_positive_int("bottleneck_factor", bottleneck_factor)
        if isinstance(hidden_layers, int) and hidden_layers < 3:
            raise ConfigError(f"a bottleneck needs at least 3 sine layers, got hidden_layers={hidden_layers!r}")
        self.bottleneck_factor = bottleneck_factor
        super().__init__(in_features, out_features, hidden_features, hidden_layers, **kwargs)

    def _hidden_widths(self) -> list[int]:
        widths = super()._hidden_widths()
        widths[self.bottleneck] = max(1, self.hidden_features // self.bottleneck_factor)
        return widths

    @property
    def bottleneck(self) -> int:
        """Index of the narrow sine layer."""
        return self.hidden_layers // 2

    def encode(self, coords: Tensor) -> Tensor:
        """Bottleneck activations ``(..., in_features) -> (..., hidden_features // bottleneck_factor)``."""
        return self.activations(coords, self.bottleneck)

    def decode(self, z: Tensor) -> Tensor:
        """The field's output from bottleneck activations ``(..., width) -> (..., out_features)``."""
        return self.decode_from(z, self.bottleneck)
