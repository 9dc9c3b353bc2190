"""The :class:`Field` base class: a coordinate network with a config and batched evaluation."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .._registry import config_repr
from ..errors import DTypeError, ShapeError

__all__ = ["Field"]


class Field(nn.Module):
    """A neural field: maps coordinates ``(..., in_features)`` to values ``(..., out_features)``.

    Subclasses implement :meth:`forward` and :attr:`config` (the JSON-serialisable constructor
    arguments, so ``neuralfields.create("field", name, **field.config)`` rebuilds the field), and
    register themselves with ``@neuralfields.register("field", name)``.

    Every field can be evaluated with a leading batch of parameter sets (one network per item):
    :meth:`batch_parameters` stacks copies of the parameters, :meth:`forward_batched` evaluates them
    on coordinates ``(B, N, in_features)``, and :meth:`unbatch` turns one member back into an ordinary
    field. The default :meth:`forward_batched` uses :func:`torch.func.functional_call` under
    :func:`torch.vmap`; families override it with a faster explicit version.
    """

    in_features: int
    out_features: int

    @property
    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments."""
        raise NotImplementedError(f"{type(self).__name__} must define the `config` property")

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
        if not isinstance(coords, Tensor):
            raise DTypeError(f"coords must be a torch.Tensor, got {type(coords).__name__}")
        if not coords.is_floating_point():
            raise DTypeError(f"coords must be floating point, got {coords.dtype}; use coords.float()")
        if coords.dim() == 0 or coords.shape[-1] != self.in_features:
            raise ShapeError(
                f"{type(self).__name__} expects coordinates of shape (..., {self.in_features}) "
                f"(in_features={self.in_features}), got {tuple(coords.shape)}"
            )
        if batched and coords.dim() != 3:
            raise ShapeError(
                f"batched evaluation expects coordinates (B, N, {self.in_features}), "
                f"got {tuple(coords.shape)}"
            )

    def accumulate_mse_grad(
        self,
        coords: Tensor,
        targets: Tensor,
        denominator: float,
        params: Mapping[str, Tensor] | None = None,
    ) -> Tensor:
        """Add the gradient of ``sum((self(coords) - targets)^2) / denominator`` to the parameters' ``.grad``.

        The training step of :func:`~neuralfields.fit` (through
        :func:`~neuralfields.training.mse_backward`) and, with ``params``, of
        :func:`~neuralfields.fit_many`. This default runs autograd; families override it with a faster
        hand-written step when they can (:class:`~neuralfields.Siren` does).

        Args:
            coords: ``(N, in_features)``, or ``(B, N, in_features)`` with ``params``.
            targets: ``(N, out_features)``, or ``(B, N, out_features)`` with ``params``.
            denominator: the loss's normaliser (the number of values in the whole batch, per item).
            params: batched parameters (see :meth:`batch_parameters`): their ``.grad`` gets the
                gradient of every item's loss instead.

        Returns:
            The sum of squared errors, detached and not divided by ``denominator``: 0-dim, or ``(B,)``
            per item with ``params``.
        """
        pred = self(coords) if params is None else self.forward_batched(params, coords)
        if pred.shape != targets.shape:
            raise ShapeError(f"targets must have the shape of the field's output {tuple(pred.shape)}, got {tuple(targets.shape)}")
        sse = (pred - targets) ** 2
        sse = sse.sum() if params is None else sse.flatten(1).sum(1)
        (sse.sum() / denominator).backward()
        return sse.detach()

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

    def _check_batched(self, params: Mapping[str, Tensor], coords: Tensor) -> int:
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
        self._check_batched(params, coords)
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
