"""The :class:`Field` base class: a coordinate network with a config and batched evaluation."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from .._checks import check_coords
from .._config import Configurable
from .._registry import config_repr
from ..errors import ShapeError

__all__ = ["Field"]


class Field(Configurable, nn.Module):
    """A neural field: maps coordinates ``(..., in_features)`` to values ``(..., out_features)``.

    Subclasses implement :meth:`forward` and register themselves with
    ``@neuralfields.register("field", name, example={...})``. :attr:`config` (the JSON-serialisable
    constructor arguments, so ``neuralfields.create("field", name, **field.config)`` rebuilds the field)
    is captured from the constructor's arguments (:class:`~neuralfields._config.Configurable`);
    arguments that only choose how the field computes (``_nf_execution``, e.g. ``backend``) are left out.

    Every field can be evaluated with a leading batch of parameter sets (one network per item):
    :meth:`batch_parameters` stacks copies of the parameters, :meth:`forward_batched` evaluates them
    on coordinates ``(B, N, in_features)``, and :meth:`unbatch` turns one member back into an ordinary
    field. The default :meth:`forward_batched` uses :func:`torch.func.functional_call` under
    :func:`torch.vmap`; families override it with a faster explicit version.

    Example:
        A minimal field (a plane); unregistered, but its config and batched evaluation work:

        >>> import neuralfields as nf
        >>> class Plane(nf.Field):
        ...     def __init__(self, in_features=2, out_features=1):
        ...         super().__init__()
        ...         self.in_features, self.out_features = in_features, out_features
        ...         self.linear = torch.nn.Linear(in_features, out_features)
        ...     def forward(self, coords):
        ...         self.check_coords(coords)
        ...         return self.linear(coords)
        >>> f = Plane(out_features=3)
        >>> f(torch.zeros(5, 2)).shape, f.config
        (torch.Size([5, 3]), {'in_features': 2, 'out_features': 3})
        >>> f.forward_batched(f.batch_parameters(4), torch.zeros(4, 5, 2)).shape
        torch.Size([4, 5, 3])
        >>> isinstance(nf.Siren(2, 1, hidden_features=8), nf.Field)
        True
    """

    in_features: int
    out_features: int
    frequency_parameter: str | None = None
    """The constructor argument that sets which frequencies the family reaches (SIREN's ``"first_omega_0"``,
    Gauss's ``"scale"``, ...), or ``None``; :func:`neuralfields.suggest_frequency` tunes it."""

    def forward(self, coords: Tensor) -> Tensor:
        """Evaluate the field: coordinates ``(..., in_features)`` -> values ``(..., out_features)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(coords)")

    def check_coords(self, coords: Tensor, batched: bool = False) -> None:
        """Raise a clear error unless ``coords`` can be fed to this field.

        Raises:
            DTypeError: coords are not a floating-point tensor.
            ShapeError: the last dimension is not ``in_features`` (or, when ``batched``, coords are
                not ``(B, N, in_features)``).
        """
        check_coords(coords, self.in_features, type(self).__name__)
        if batched and coords.dim() != 3:
            raise ShapeError(
                f"batched evaluation expects coordinates (B, N, {self.in_features}), "
                f"got {tuple(coords.shape)}"
            )

    # ---- batched parameters -------------------------------------------------------------
    def batch_parameters(self, batch_size: int) -> dict[str, Tensor]:
        """``batch_size`` independent copies of the parameters, stacked on a new leading dimension.

        Returns:
            Dict name -> tensor ``(batch_size, *param.shape)`` (new leaf tensors that require grad).
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ShapeError(f"batch_size must be a positive int, got {batch_size!r}")
        return {
            name: p.detach().unsqueeze(0).repeat(batch_size, *([1] * p.dim())).requires_grad_(True)
            for name, p in self.named_parameters()
        }

    def check_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> int:
        """Raise a clear error unless batched ``params`` (name -> ``(B, *shape)``) and coordinates
        ``(B, N, in_features)`` fit this field; returns ``B``."""
        self.check_coords(coords, batched=True)
        expected = dict(self.named_parameters())
        if set(params) != set(expected):
            missing = sorted(set(expected) - set(params))
            extra = sorted(set(params) - set(expected))
            raise ShapeError(f"batched parameters do not match the field: missing {missing}, unexpected {extra}")
        b = coords.shape[0]
        for name, p in expected.items():
            if tuple(params[name].shape) != (b, *p.shape):
                raise ShapeError(
                    f"batched parameter {name!r} must have shape {(b, *p.shape)} "
                    f"(batch of {b} like the coordinates), got {tuple(params[name].shape)}"
                )
        return b

    def forward_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> Tensor:
        """Evaluate ``B`` parameter sets, each on its own coordinates.

        Args:
            params: dict name -> ``(B, *param.shape)``, as from :meth:`batch_parameters`.
            coords: ``(B, N, in_features)``.

        Returns:
            ``(B, N, out_features)``; member ``b`` equals ``self.unbatch(params, b)(coords[b])``.
        """
        self.check_batched(params, coords)
        buffers = dict(self.named_buffers())

        def one(p: dict[str, Tensor], x: Tensor) -> Tensor:
            return torch.func.functional_call(self, {**p, **buffers}, (x,))

        return torch.vmap(one)(dict(params), coords)

    def unbatch(self, params: Mapping[str, Tensor], index: int) -> Field:
        """An ordinary field holding member ``index`` of batched parameters (a detached copy)."""
        new = copy.deepcopy(self)
        with torch.no_grad():
            for name, p in new.named_parameters():
                p.copy_(params[name][index])
        return new

    def extra_repr(self) -> str:
        return config_repr(self)
