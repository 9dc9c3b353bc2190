"""Optional capabilities of fields and conditionings, declared as protocols.

A field or conditioning has a capability when it has the members the protocol names; code that needs
one checks ``isinstance(obj, Capability)`` and raises :func:`missing` 's error when it is absent:

=================  =====================================================================================
:class:`Modulatable`   ``sine_widths`` and ``forward(coords, modulations=...)``: FiLM modulation of the
                       sine layers (what a :class:`~neuralfields.ConditionedField` with ``"film"`` /
                       ``"shift"`` codes needs)
:class:`Layered`       ``activations(coords, layer, modulations=...)`` and ``decode_from(h, layer,
                       modulations=...)``: access to hidden layers (embeddings and interpolation at layers)
:class:`Bottlenecked`  ``bottleneck`` (a layer index), ``encode`` and ``decode`` (the ``"bottleneck"`` place)
:class:`HasCodes`      ``codes_table``, a learned ``(num_items, dim)`` parameter (the ``"latent"`` place)
=================  =====================================================================================

:class:`~neuralfields.Siren` is modulatable and layered, :class:`~neuralfields.BottleneckSiren` also
bottlenecked, and :class:`~neuralfields.Latent` has codes.

The checks look the members up on the instance (``hasattr``), so parameters and submodules of an
``nn.Module`` count, on every Python version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Protocol, runtime_checkable

from torch import Tensor

from .errors import ConfigError

__all__ = ["Modulatable", "Layered", "Bottlenecked", "HasCodes", "missing"]

_Modulation = tuple[Optional[Tensor], Optional[Tensor]]


class _CapabilityMeta(type(Protocol)):  # type: ignore[misc]
    """``isinstance`` checks the instance's members with ``hasattr`` (on Python 3.12+ protocols look them
    up statically, which misses an ``nn.Module``'s parameters)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        members: tuple[str, ...] = cls.__dict__.get("_nf_members", ())
        if not members:
            return super().__instancecheck__(obj)
        for name in members:
            if not hasattr(obj, name):
                return False
            if name in cls.__dict__.get("_nf_methods", ()) and not callable(getattr(obj, name)):
                return False
        return True


@runtime_checkable
class Modulatable(Protocol, metaclass=_CapabilityMeta):
    """A field whose sine layers take FiLM modulations: ``sine_widths`` (one ``(scale, shift)`` pair per
    sine layer) and ``forward(coords, modulations=...)``.

    Example:
        >>> import torch, neuralfields as nf
        >>> f = nf.Siren(2, 1, hidden_features=8, hidden_layers=2, seed=0)
        >>> isinstance(f, Modulatable), isinstance(nf.Gauss(2, 1, hidden_features=8), Modulatable), f.sine_widths
        (True, False, [8, 8])
        >>> x = torch.rand(5, 2)
        >>> same = [(torch.ones(w), torch.zeros(w)) for w in f.sine_widths]  # scale 1, shift 0: no change
        >>> bool(torch.allclose(f(x, modulations=same), f(x)))
        True
    """

    @property
    def sine_widths(self) -> list[int]:
        """Widths of the sine layers, in order."""
        ...

    def forward(self, coords: Tensor, modulations: Sequence[_Modulation] | None = None) -> Tensor:
        """Values ``(..., out)`` at ``coords`` ``(..., in)``; ``modulations`` are one ``(scale, shift)``
        per sine layer, each broadcastable to ``(..., width)`` (either may be ``None``)."""
        ...


@runtime_checkable
class Layered(Protocol, metaclass=_CapabilityMeta):
    """A field whose hidden layers can be read and continued from.

    Example:
        >>> import torch, neuralfields as nf
        >>> f = nf.Siren(2, 1, hidden_features=8, hidden_layers=2, seed=0)
        >>> x = torch.rand(5, 2)
        >>> h = f.activations(x, -1)  # the last hidden layer
        >>> isinstance(f, Layered), h.shape, bool(torch.allclose(f.decode_from(h, -1), f(x)))
        (True, torch.Size([5, 8]), True)
    """

    def activations(self, coords: Tensor, layer: int, modulations: Sequence[_Modulation] | None = None) -> Tensor:
        """Activations ``(..., width)`` after hidden layer ``layer`` (``-1``: the last)."""
        ...

    def decode_from(self, h: Tensor, layer: int, modulations: Sequence[_Modulation] | None = None) -> Tensor:
        """The output ``(..., out)`` from the activations ``h`` of hidden layer ``layer``."""
        ...


@runtime_checkable
class Bottlenecked(Protocol, metaclass=_CapabilityMeta):
    """A field with a narrow hidden layer whose activations are a compact embedding.

    Example:
        >>> import torch, neuralfields as nf
        >>> f = nf.BottleneckSiren(2, 1, hidden_features=16, bottleneck_factor=4, seed=0)
        >>> isinstance(f, Bottlenecked), isinstance(nf.Siren(2, 1, hidden_features=16), Bottlenecked)
        (True, False)
        >>> f.bottleneck, f.sine_widths[f.bottleneck], f.encode(torch.rand(5, 2)).shape
        (2, 4, torch.Size([5, 4]))
    """

    bottleneck: int
    """Index of the narrow hidden layer."""

    def encode(self, coords: Tensor) -> Tensor:
        """Bottleneck activations ``(..., width)``."""
        ...

    def decode(self, z: Tensor) -> Tensor:
        """The output ``(..., out)`` from bottleneck activations."""
        ...


@runtime_checkable
class HasCodes(Protocol, metaclass=_CapabilityMeta):
    """A conditioning with a learned code per item.

    Example:
        >>> import neuralfields as nf
        >>> codes = nf.Latent(4, dim=3)
        >>> isinstance(codes, HasCodes), isinstance(nf.BinaryCode(4), HasCodes), codes.codes_table.shape
        (True, False, torch.Size([4, 3]))
    """

    codes_table: Tensor
    """The codes, a parameter ``(num_items, dim)``."""


Modulatable._nf_members = ("sine_widths", "forward")  # type: ignore[attr-defined]
Modulatable._nf_methods = ("forward",)  # type: ignore[attr-defined]
Layered._nf_members = ("activations", "decode_from")  # type: ignore[attr-defined]
Layered._nf_methods = ("activations", "decode_from")  # type: ignore[attr-defined]
Bottlenecked._nf_members = ("bottleneck", "encode", "decode")  # type: ignore[attr-defined]
Bottlenecked._nf_methods = ("encode", "decode")  # type: ignore[attr-defined]
HasCodes._nf_members = ("codes_table",)  # type: ignore[attr-defined]

_WHAT = {
    Modulatable: "FiLM modulation of its sine layers (`sine_widths` and `forward(coords, modulations=...)`)",
    Layered: "access to its hidden layers (`activations(coords, layer, ...)` and `decode_from(h, layer, ...)`)",
    Bottlenecked: "a bottleneck layer (`bottleneck`, `encode` and `decode`)",
    HasCodes: "learned per-item codes (a `codes_table` parameter)",
}


def missing(obj: Any, capability: type, needed_for: str, fix: str) -> ConfigError:
    """The error for ``obj`` lacking ``capability``: names the capability, what needs it and the fix.

    Example:
        >>> import torch
        >>> print(missing(torch.nn.Linear(2, 1), Modulatable, "latent codes in 'film' mode", "use a Siren"))
        Linear lacks the Modulatable capability: FiLM modulation of its sine layers (`sine_widths` and `forward(coords, modulations=...)`), needed for latent codes in 'film' mode; use a Siren
    """
    return ConfigError(
        f"{type(obj).__name__} lacks the {capability.__name__} capability: {_WHAT[capability]}, "
        f"needed for {needed_for}; {fix}"
    )
