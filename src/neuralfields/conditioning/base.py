"""Base classes of two registry kinds: :class:`Conditioning` (what turns an item index into input for a
shared field, kind ``"conditioning"``) and :class:`Model` (composite models such as
:class:`~neuralfields.ConditionedField` and :class:`~neuralfields.HyperSiren`, kind ``"model"``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._config import Configurable
from .._registry import config_repr
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError

__all__ = ["Conditioning", "Model"]


class Conditioning(Configurable, nn.Module):
    """Maps item indices to what conditions one field on many items (registry kind ``"conditioning"``).

    A conditioning contributes ``extra_features`` input channels (appended to the coordinates) and/or,
    when ``latent_dim > 0``, a per-item code that :class:`~neuralfields.conditioning.ConditionedField`
    turns into modulations of the field's sine layers.

    Subclasses set the attributes below in their constructor, implement :meth:`features` (and
    :meth:`codes` when ``latent_dim > 0``), and register with ``@neuralfields.register("conditioning",
    name)``. Their :attr:`config` is captured from the constructor's arguments.

    Attributes:
        num_items: how many items it supports (indices ``0 .. num_items - 1``).
        extra_features: input channels appended to the coordinates.
        latent_dim: size of the per-item code used for modulations (0 for none).
        seed: the seed of its initialisation, if it has one (a :class:`ConditionedField` seeds its
            modulator from it).

    Example:
        A one-hot conditioning (a field conditioned on it sees one extra input channel per item):

        >>> class OneHot(Conditioning):
        ...     def __init__(self, num_items):
        ...         super().__init__()
        ...         self.num_items, self.extra_features = num_items, num_items
        ...     def features(self, index):
        ...         return torch.nn.functional.one_hot(index, self.num_items).float()
        >>> c = OneHot(3)
        >>> c.features(c.check_index(torch.tensor([2, 0]))).tolist(), c.config
        ([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], {'num_items': 3})
        >>> import neuralfields as nf
        >>> isinstance(nf.BinaryCode(4), Conditioning), isinstance(nf.Latent(4, dim=2), Conditioning)
        (True, True)
    """

    num_items: int
    extra_features: int = 0
    latent_dim: int = 0
    seed: int | None = None

    def check_index(self, index: Tensor | int) -> Tensor:
        """Validate item indices.

        Returns:
            Long tensor ``(B,)`` (an int becomes a batch of one).

        Raises:
            DTypeError: indices are not ints or an integer tensor.
            ShapeError: an index tensor is not 1-D.
            IndexOutOfRangeError: an index is negative or at least ``num_items``.
        """
        if isinstance(index, int) and not isinstance(index, bool):
            self._check_range(index, index)
            return torch.tensor([index])
        if not isinstance(index, Tensor) or index.dtype.is_floating_point or index.dtype == torch.bool:
            raise DTypeError(
                f"item indices must be ints or an integer tensor, got {getattr(index, 'dtype', index)!r}; "
                f"use torch.tensor([...]) of ints"
            )
        if index.dim() != 1:
            raise ShapeError(f"item indices must have shape (B,), got {tuple(index.shape)}; flatten them")
        if index.numel():
            self._check_range(int(index.min()), int(index.max()))
        return index.long()

    def _check_range(self, low: int, high: int) -> None:
        if low < 0 or high >= self.num_items:
            bad = low if low < 0 else high
            raise IndexOutOfRangeError(
                f"item index {bad} is out of range: {type(self).__name__} was built for "
                f"{self.num_items} items (indices 0..{self.num_items - 1})"
            )

    def features(self, index: Tensor) -> Tensor:
        """Extra input channels ``(B, extra_features)`` for items ``index`` ``(B,)``."""
        return torch.zeros(index.shape[0], 0, device=index.device)

    def codes(self, index: Tensor) -> Tensor | None:
        """Per-item codes ``(B, latent_dim)`` that drive modulations, or ``None``."""
        return None

    def extra_repr(self) -> str:
        return config_repr(self)


class Model(Configurable, nn.Module):
    """A composite model (registry kind ``"model"``): a network built from others, such as a field with
    a conditioning (:class:`~neuralfields.ConditionedField`) or a hypernetwork with its target
    (:class:`~neuralfields.HyperSiren`).

    Models have no common call signature (each documents its own ``forward``); what they share is the
    registry contract: a :attr:`config` captured from the constructor (nested models as nested specs),
    so :func:`neuralfields.save` / :func:`neuralfields.load` round-trip them, and
    :meth:`example_inputs`, valid arguments of ``forward`` that the contract suite of
    :mod:`neuralfields.testing` calls the model with. Register with ``@neuralfields.register("model", name)``.

    Example:
        >>> import neuralfields as nf
        >>> m = nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, encoder_width=4, seed=0)
        >>> isinstance(m, Model), [tuple(x.shape) for x in m.example_inputs(2)], m(*m.example_inputs(2)).shape
        (True, [(2, 1, 8, 8)], torch.Size([2, 1, 8, 8]))
        >>> f = nf.ConditionedField(nf.Siren(3, 1, hidden_features=8, seed=0), nf.IndexCoordinate(4))
        >>> isinstance(f, Model), f(*f.example_inputs(2)).shape
        (True, torch.Size([2, 5, 1]))
    """

    def example_inputs(self, batch: int = 2, *, seed: int = 0) -> tuple[Any, ...]:
        """Small valid positional arguments of ``forward`` for ``batch`` items (drawn from ``seed``).

        Every tensor argument has the batch as its leading dimension, and item ``b`` of the output only
        depends on item ``b`` of the inputs (the contract suite checks batched = per item by slicing).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement example_inputs(batch, seed=...) -> forward's arguments"
        )

    def extra_repr(self) -> str:
        return config_repr(self)
