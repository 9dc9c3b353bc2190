"""Where in a conditioned field to read an item's embedding or to interpolate between items."""

from __future__ import annotations

from .._capabilities import Bottlenecked, HasCodes, Layered, missing
from ..conditioning import ConditionedField
from ..errors import ConfigError

__all__ = ["PLACES", "layer_of"]

PLACES = ("conditioning", "latent", "bottleneck", "last_hidden")
"""``conditioning``: the conditioning's input (extra channels and codes); ``latent``: the learned code
(a conditioning with codes, :class:`~neuralfields.conditioning.HasCodes`, such as
:class:`~neuralfields.Latent`); ``bottleneck``: the narrow layer of a
:class:`~neuralfields.conditioning.Bottlenecked` field such as :class:`~neuralfields.BottleneckSiren`;
``last_hidden``: the last sine layer (of a :class:`~neuralfields.conditioning.Layered` field)."""


def layer_of(field: ConditionedField, place: str) -> int | None:
    """The inner field's sine layer of a layer place, or ``None`` for an input place.

    Raises:
        ConfigError: unknown place, or a place the field does not have (the error names the missing
            capability).
    """
    if place not in PLACES:
        raise ConfigError(f"unknown place {place!r}; use one of {PLACES}")
    if not isinstance(field, ConditionedField):
        raise ConfigError(f"embeddings and interpolation need a ConditionedField, got {type(field).__name__}")
    if place == "latent" and not isinstance(field.conditioning, HasCodes):
        raise missing(field.conditioning, HasCodes, "place 'latent'", "use a Latent conditioning")
    if place in ("bottleneck", "last_hidden") and not isinstance(field.field, Layered):
        raise missing(field.field, Layered, f"place {place!r}", "use a Siren")
    if place == "bottleneck":
        if not isinstance(field.field, Bottlenecked):
            raise missing(field.field, Bottlenecked, "place 'bottleneck'", "use a BottleneckSiren")
        return int(field.field.bottleneck)
    return -1 if place == "last_hidden" else None
