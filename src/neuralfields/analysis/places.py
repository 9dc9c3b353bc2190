"""Where in a conditioned field to read an item's embedding or to interpolate between items."""

from __future__ import annotations

from ..conditioning import ConditionedField, Latent
from ..errors import ConfigError

__all__ = ["PLACES", "layer_of"]

PLACES = ("conditioning", "latent", "bottleneck", "last_hidden")
"""``conditioning``: the conditioning's input (extra channels and codes); ``latent``: the learned code
(:class:`~neuralfields.Latent` only); ``bottleneck``: the narrow layer of a
:class:`~neuralfields.BottleneckSiren`; ``last_hidden``: the last sine layer."""


def layer_of(field: ConditionedField, place: str) -> int | None:
    """The inner field's sine layer of a layer place, or ``None`` for an input place.

    Raises:
        ConfigError: unknown place, or a place the field does not have.
    """
    if place not in PLACES:
        raise ConfigError(f"unknown place {place!r}; use one of {PLACES}")
    if not isinstance(field, ConditionedField):
        raise ConfigError(f"embeddings and interpolation need a ConditionedField, got {type(field).__name__}")
    if place == "latent" and not isinstance(field.conditioning, Latent):
        raise ConfigError(f"place 'latent' needs a Latent conditioning, not {type(field.conditioning).__name__}")
    if place == "bottleneck":
        if not hasattr(field.field, "bottleneck"):
            raise ConfigError(f"place 'bottleneck' needs a BottleneckSiren, not {type(field.field).__name__}")
        return int(field.field.bottleneck)
    return -1 if place == "last_hidden" else None
