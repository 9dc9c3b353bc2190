"""One field for many items: a field composed with a conditioning (a composite model, kind ``"model"``),
and :class:`ItemField`, one of its items as an ordinary field (kind ``"field"``)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .._capabilities import Layered, Modulatable, missing
from .._checks import check_coords
from .._registry import register
from ..errors import ConfigError, ShapeError
from ..fields.base import Field
from ..grid import _item_seed
from .base import Conditioning, Model

__all__ = ["ConditionedField", "ItemField"]

_MODULATOR_STREAM = 0x6D6F64  # the modulator's random stream, apart from the codes' stream of the same seed

_SMALL_SIREN = {"in_features": 2, "out_features": 2, "hidden_features": 8, "hidden_layers": 2, "seed": 0}
_SMALL_LATENT = {"num_items": 3, "dim": 4, "mode": "film", "init_std": 0.5, "seed": 0}
_EXAMPLE = {
    "field": {"kind": "field", "name": "siren", "config": _SMALL_SIREN},
    "conditioning": {"kind": "conditioning", "name": "latent", "config": _SMALL_LATENT},
}


@register("model", "conditioned-field", example=_EXAMPLE)
class ConditionedField(Model):
    """A field conditioned on the item index: ``forward(coords, index)`` (a composite model, not a field).

    The conditioning's extra channels are appended to the coordinates, so the inner field takes
    ``in_features = coordinate dimension + conditioning.extra_features``. Latent codes in ``"film"`` /
    ``"shift"`` mode go through a linear layer (the modulator) to one (scale, shift) per sine layer of
    the inner field, which must be :class:`~neuralfields.conditioning.Modulatable` (as
    :class:`~neuralfields.Siren` is). The modulator's initial weights are drawn from the conditioning's
    seed (or else the field's), so the same seeds build the same model without touching the global RNG.

    It is not a :class:`~neuralfields.Field` (its forward takes item indices too, and it has no
    batched-parameter evaluation); :meth:`item` gives one item as an ordinary field.

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
        >>> f.item(3)(torch.rand(10, 2)).shape  # one item as an ordinary field
        torch.Size([10, 1])
    """

    def __init__(self, field: Field, conditioning: Conditioning) -> None:
        super().__init__()
        if not isinstance(field, Field) or not isinstance(conditioning, Conditioning):
            raise ConfigError(
                f"ConditionedField(field, conditioning) needs a Field and a Conditioning, got "
                f"{type(field).__name__} and {type(conditioning).__name__}"
            )
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
        self._widths: list[int] = []
        if conditioning.latent_dim:
            if not isinstance(field, Modulatable):
                mode = getattr(conditioning, "mode", "modulation")
                raise missing(field, Modulatable, f"latent codes in {mode!r} mode", "use a Siren or mode='concat'")
            self._widths = list(field.sine_widths)
            film = getattr(conditioning, "mode", "shift") == "film"
            self.modulator = self._make_modulator(conditioning.latent_dim, sum(self._widths) * (2 if film else 1))

    def _make_modulator(self, n_in: int, n_out: int) -> nn.Linear:
        """PyTorch's default ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` weights drawn from the seed, zero bias."""
        seed = self.conditioning.seed if self.conditioning.seed is not None else getattr(self.field, "seed", None)
        gen = None
        if isinstance(seed, int) and not isinstance(seed, bool):
            gen = torch.Generator().manual_seed(_item_seed(seed, _MODULATOR_STREAM))
        linear = nn.utils.skip_init(nn.Linear, n_in, n_out, device=torch.get_default_device())  # no draw from the global RNG
        bound = 1.0 / math.sqrt(n_in)
        with torch.no_grad():
            linear.weight.uniform_(-bound, bound, generator=gen)
            linear.bias.zero_()
        return linear

    @property
    def num_items(self) -> int:
        """How many items the conditioning supports."""
        return self.conditioning.num_items

    def check_coords(self, coords: Tensor) -> None:
        """Raise a clear error unless ``coords`` are floating-point coordinates ``(..., in_features)``.

        Raises:
            DTypeError: coords are not a floating-point tensor.
            ShapeError: their last dimension is not ``in_features``.
        """
        check_coords(coords, self.in_features, type(self).__name__)

    def example_inputs(self, batch: int = 2, *, seed: int = 0) -> tuple[Tensor, Tensor]:
        """``(coords (batch, 5, in_features) in [-1, 1], index (batch,))`` drawn from ``seed``."""
        gen = torch.Generator().manual_seed(seed)
        coords = torch.rand(batch, 5, self.in_features, generator=gen) * 2 - 1
        return coords, torch.randint(0, self.num_items, (batch,), generator=gen)

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

    def forward(self, coords: Tensor, index: Tensor | int) -> Tensor:
        """Evaluate items ``index`` at ``coords`` (see the class docs for the shapes)."""
        self.check_coords(coords)
        idx = self.conditioning.check_index(index).to(coords.device)
        if isinstance(index, int):
            return self._one_item(coords, idx)
        return self._evaluate(coords, idx)

    def _one_item(self, coords: Tensor, idx: Tensor) -> Tensor:
        """Item ``idx`` ``(1,)`` (already checked) at coordinates ``(..., d)`` -> ``(..., out)``."""
        lead = coords.shape[:-1]
        out = self._evaluate(coords.reshape(1, -1, self.in_features), idx)
        return out.reshape(*lead, self.out_features)

    def _evaluate(self, coords: Tensor, idx: Tensor) -> Tensor:
        return self.forward_inputs(coords, self.conditioning.features(idx), self.conditioning.codes(idx))

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

    def _layered_field(self) -> Layered:
        if not isinstance(self.field, Layered):
            raise missing(self.field, Layered, "reading hidden layers", "use a Siren")
        return self.field

    def activations(self, coords: Tensor, features: Tensor, codes: Tensor | None, layer: int) -> Tensor:
        """Activations ``(B, N, width)`` of the inner field's sine layer ``layer`` (``-1``: the last).

        Raises:
            ConfigError: the inner field is not :class:`~neuralfields.conditioning.Layered`.
        """
        field = self._layered_field()
        self.check_coords(coords)
        x, mods = self._field_inputs(coords, features, codes)
        return field.activations(x, layer, modulations=mods)

    def decode_from(self, h: Tensor, codes: Tensor | None, layer: int) -> Tensor:
        """The output ``(B, N, out)`` from activations ``h`` of sine layer ``layer`` (and the codes that
        modulate the later layers).

        Raises:
            ConfigError: the inner field is not :class:`~neuralfields.conditioning.Layered`.
        """
        return self._layered_field().decode_from(h, layer, modulations=self._modulations(codes))

    def item(self, index: int) -> ItemField:
        """Item ``index`` as an ordinary field that shares this model's parameters (e.g. for
        :func:`neuralfields.render`); it saves and loads like any field.

        Raises:
            IndexOutOfRangeError: ``index`` is not an item of this model.
        """
        return ItemField(self, index)


_ITEM_EXAMPLE = {"parent": {"kind": "model", "name": "conditioned-field", "config": _EXAMPLE}, "index": 1}


@register("field", "item-field", example=_ITEM_EXAMPLE)
class ItemField(Field):
    """One item of a :class:`ConditionedField` as an ordinary field: ``coords (..., d) -> (..., out)``.

    It holds the whole conditioned field (shared with it when made by :meth:`ConditionedField.item`), so
    a saved item rebuilds from its config ``{"parent": <the conditioned field's spec>, "index": i}``.

    Args:
        parent: the conditioned field.
        index: the item.

    Raises:
        ConfigError: ``parent`` is not a conditioned field or ``index`` not an int.
        IndexOutOfRangeError: ``index`` is not an item of ``parent``.

    Example:
        >>> import neuralfields as nf, os, tempfile
        >>> f = nf.ConditionedField(nf.Siren(3, 1, hidden_features=16, seed=0), nf.IndexCoordinate(4))
        >>> path = nf.save(f.item(2), os.path.join(tempfile.mkdtemp(), "item.safetensors"))
        >>> g = nf.load(path)
        >>> type(g).__name__, g.index, bool(torch.equal(g(torch.zeros(3, 2)), f(torch.zeros(3, 2), 2)))
        ('ItemField', 2, True)
    """

    def __init__(self, parent: ConditionedField, index: int) -> None:
        super().__init__()
        if not isinstance(parent, ConditionedField):
            raise ConfigError(f"ItemField needs a ConditionedField as its parent, got {type(parent).__name__}")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ConfigError(f"index must be an int, got {index!r}")
        parent.conditioning.check_index(index)
        self.parent = parent
        self.index = index
        self.in_features = parent.in_features
        self.out_features = parent.out_features

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the item at ``coords (..., d)`` -> ``(..., out)``."""
        self.check_coords(coords)
        idx = torch.full((1,), self.index, dtype=torch.long, device=coords.device)
        return self.parent._one_item(coords, idx)

    def extra_repr(self) -> str:
        return f"index={self.index}"

