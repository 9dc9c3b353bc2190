"""One field for many items: a field composed with a conditioning."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._registry import register, spec_of
from ..errors import ConfigError, ShapeError
from ..fields.base import Field
from .base import Conditioning

__all__ = ["ConditionedField", "ItemField"]


@register("conditioning", "conditioned-field")
class ConditionedField(Field):
    """A field conditioned on the item index: ``forward(coords, index)``.

    The conditioning's extra channels are appended to the coordinates, so the inner field takes
    ``in_features = coordinate dimension + conditioning.extra_features``. Latent codes in ``"film"`` /
    ``"shift"`` mode go through a linear layer to one (scale, shift) per sine layer of the inner field
    (which must accept ``modulations``, as :class:`~neuralfields.Siren` does).

    Args:
        field: the shared field.
        conditioning: how items are told apart (:class:`IndexCoordinate`, :class:`BinaryCode`, :class:`Latent`).

    Shape:
        ``coords (B, N, d), index (B,) -> (B, N, out)``; ``coords (N, d), index (B,) -> (B, N, out)``
        (the same coordinates for every item); ``coords (..., d), index int -> (..., out)``.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.conditioning import ConditionedField, BinaryCode
        >>> cond = BinaryCode(8)
        >>> f = ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=16, seed=0), cond)
        >>> f(torch.rand(5, 10, 2), torch.tensor([0, 1, 2, 3, 7])).shape
        torch.Size([5, 10, 1])
    """

    def __init__(self, field: Field, conditioning: Conditioning) -> None:
        super().__init__()
        if not isinstance(field, Field) or not isinstance(conditioning, Conditioning):
            raise ConfigError("ConditionedField(field, conditioning) needs a Field and a Conditioning")
        extra = conditioning.extra_features
        if field.in_features <= extra:
            raise ConfigError(
                f"the field takes {field.in_features} inputs but the conditioning adds {extra} channels; "
                f"build the field with in_features = coordinate dimension + {extra}"
            )
        self.field = field
        self.conditioning = conditioning
        self.in_features = field.in_features - extra
        self.out_features = field.out_features
        self.modulator: nn.Linear | None = None
        if conditioning.latent_dim:
            widths = getattr(field, "sine_widths", None)
            if widths is None:
                raise ConfigError(f"{type(field).__name__} takes no modulations; use a Siren or mode='concat'")
            self._widths = list(widths)
            per_layer = 2 if getattr(conditioning, "mode", "shift") == "film" else 1
            self.modulator = nn.Linear(conditioning.latent_dim, sum(self._widths) * per_layer)
            with torch.no_grad():
                self.modulator.bias.zero_()

    @property
    def config(self) -> dict[str, Any]:
        return {"field": spec_of(self.field), "conditioning": spec_of(self.conditioning)}

    @property
    def num_items(self) -> int:
        """How many items the conditioning supports."""
        return self.conditioning.num_items

    def _modulations(self, codes: Tensor | None) -> list[tuple[Tensor | None, Tensor | None]] | None:
        """Per-layer (scale, shift) of codes ``(B, latent_dim)``, broadcasting over coordinates."""
        if codes is None or self.modulator is None:
            return None
        out = self.modulator(codes)[:, None, :]  # (B, 1, total): broadcasts over the N coordinates
        film = out.shape[-1] == 2 * sum(self._widths)
        mods: list[tuple[Tensor | None, Tensor | None]] = []
        start = 0
        for w in self._widths:
            if film:
                scale = 1.0 + out[..., start : start + w]
                shift = out[..., start + w : start + 2 * w]
                start += 2 * w
            else:
                scale, shift = None, out[..., start : start + w]
                start += w
            mods.append((scale, shift))
        return mods

    def forward(self, coords: Tensor, index: Tensor | int) -> Tensor:  # type: ignore[override]
        """Evaluate items ``index`` at ``coords`` (see the class docs for the shapes)."""
        self.check_coords(coords)
        if isinstance(index, int) and not isinstance(index, bool):
            lead = coords.shape[:-1]
            out = self.forward(coords.reshape(1, -1, self.in_features), torch.tensor([index]))
            return out.reshape(*lead, self.out_features)
        features, codes = self.inputs(index, device=coords.device)
        return self.forward_inputs(coords, features, codes)

    def inputs(self, index: Tensor | int, device: torch.device | None = None) -> tuple[Tensor, Tensor | None]:
        """What the conditioning feeds the field for items ``index``: extra channels ``(B, extra_features)``
        and modulation codes ``(B, latent_dim)`` (or ``None``)."""
        idx = self.conditioning.check_index(index)
        if device is not None:
            idx = idx.to(device)
        return self.conditioning.features(idx), self.conditioning.codes(idx)

    def _field_inputs(self, coords: Tensor, features: Tensor, codes: Tensor | None) -> tuple[Tensor, Any]:
        b = features.shape[0]
        if coords.dim() == 2:
            coords = coords.unsqueeze(0).expand(b, -1, -1)
        if coords.dim() != 3 or coords.shape[0] != b:
            raise ShapeError(
                f"coords must be (B, N, {self.in_features}) with B = {b} items, or (N, {self.in_features}) "
                f"shared by all items; got {tuple(coords.shape)}"
            )
        features = features.to(coords)
        if features.shape[1]:
            coords = torch.cat([coords, features[:, None, :].expand(-1, coords.shape[1], -1)], dim=-1)
        return coords, self._modulations(codes)

    def forward_inputs(self, coords: Tensor, features: Tensor, codes: Tensor | None = None) -> Tensor:
        """Evaluate the field on explicit conditioning inputs (e.g. interpolated ones), see :meth:`inputs`.

        Args:
            coords: ``(B, N, d)`` or ``(N, d)``.
            features: ``(B, extra_features)``.
            codes: ``(B, latent_dim)`` or ``None``.
        """
        self.check_coords(coords)
        x, mods = self._field_inputs(coords, features, codes)
        return self.field(x) if mods is None else self.field(x, modulations=mods)

    def _layered_field(self) -> Any:
        if not hasattr(self.field, "activations") or not hasattr(self.field, "decode_from"):
            raise ConfigError(f"{type(self.field).__name__} does not expose its hidden layers; use a Siren")
        return self.field

    def activations(self, coords: Tensor, features: Tensor, codes: Tensor | None, layer: int) -> Tensor:
        """Activations ``(B, N, width)`` of the inner field's sine layer ``layer`` (``-1``: the last)."""
        self.check_coords(coords)
        x, mods = self._field_inputs(coords, features, codes)
        return self._layered_field().activations(x, layer, modulations=mods)

    def decode_from(self, h: Tensor, codes: Tensor | None, layer: int) -> Tensor:
        """The output ``(B, N, out)`` from activations ``h`` of sine layer ``layer`` (and the codes that
        modulate the later layers)."""
        return self._layered_field().decode_from(h, layer, modulations=self._modulations(codes))

    def item(self, index: int) -> ItemField:
        """A view of one item as an ordinary field (e.g. for :func:`neuralfields.render`)."""
        self.conditioning.check_index(index)
        return ItemField(self, index)

    def forward_batched(self, params: Any, coords: Tensor) -> Tensor:
        """Not supported: a conditioned field is already one network for many items."""
        raise ConfigError("ConditionedField has no batched-parameter evaluation; call it with item indices")


class ItemField(Field):
    """One item of a :class:`ConditionedField`, seen as an ordinary field (shares its parameters)."""

    def __init__(self, parent: ConditionedField, index: int) -> None:
        super().__init__()
        self.parent = parent
        self.index = index
        self.in_features = parent.in_features
        self.out_features = parent.out_features

    @property
    def config(self) -> dict[str, Any]:
        return {"index": self.index}

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the item at ``coords (..., d)``."""
        return self.parent(coords, self.index)
