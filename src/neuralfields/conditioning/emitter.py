"""Models that emit the weights of a SIREN from codes, through a registered head: the decoding half of
:class:`~neuralfields.HyperSiren` and of :class:`~neuralfields.generators.FieldGenerator`.

A model that mixes in :class:`SirenEmitter` holds ``target`` (the template :class:`~neuralfields.Siren`),
``head`` (a :class:`~neuralfields.conditioning.HyperHead`), ``channels``, ``image_size`` and
``latent_dim``; the mixin turns codes ``(B, latent_dim)`` into the SIRENs' parameters, their values on
any grid, images, and plain :class:`~neuralfields.Siren` copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_float_tensor, image_size as _image_size
from .._registry import get
from ..errors import ConfigError, IndexOutOfRangeError, ShapeError
from ..fields.render import to_unit
from ..fields.siren import Siren
from ..grid import make_grid

__all__ = ["SirenEmitter", "build_head"]


def build_head(name: str, target: Siren, latent_dim: int, init_scale: float, rank: int, film_scale: bool) -> nn.Module:
    """The registered hyper-head ``name`` for ``target`` (``film_scale`` goes to the ``"film"`` head).

    Example:
        >>> target = Siren(2, 1, 8, hidden_layers=1, seed=0)
        >>> type(build_head("lowrank", target, 4, 0.01, 2, True)).__name__
        'LowRankHead'
    """
    kwargs = {"film_scale": film_scale} if name == "film" else {}
    head = get("hyper-head", name)(target, latent_dim, init_scale, rank, **kwargs)
    if not isinstance(head, nn.Module):
        raise ConfigError(f"the hyper-head {name!r} must build an nn.Module (a HyperHead), got {type(head).__name__}")
    return head


class SirenEmitter:
    """Codes -> per-item SIREN parameters (through ``head``) -> values on any grid, images, plain SIRENs.

    Example:
        >>> import neuralfields as nf
        >>> m = nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, seed=0)
        >>> isinstance(m, SirenEmitter), m.decode(torch.zeros(2, 4), shape=(12, 12)).shape
        (True, torch.Size([2, 1, 12, 12]))
    """

    target: Siren
    head: nn.Module
    channels: int
    image_size: tuple[int, int]
    latent_dim: int

    def _ref(self) -> Tensor:
        return self.target.layers[0].weight

    def _check_latent(self, latent: Any) -> Tensor:
        latent = check_float_tensor("latent", latent)
        if latent.dim() != 2 or latent.shape[1] != self.latent_dim:
            raise ShapeError(f"latent codes must have shape (B, {self.latent_dim}), got {tuple(latent.shape)}")
        return latent

    def weights(self, latent: Tensor) -> dict[str, Tensor]:
        """The emitted SIREN parameters of each item.

        Args:
            latent: ``(B, latent_dim)``.

        Returns:
            Dict name -> ``(B, *shape)`` with the names and shapes of ``target.batch_parameters(B)``, for
            ``target.forward_batched(params, coords)``.
        """
        return self.head(self._check_latent(latent), self.target)

    def _values(self, params: dict[str, Tensor], shape: tuple[int, int], chunk_size: int) -> Tensor:
        """Field values ``(B, C, H, W)`` on the [-1, 1] scale of the emitted SIRENs on a grid of ``shape``."""
        b = next(iter(params.values())).shape[0]
        ref = self._ref()
        coords = make_grid(shape, device=ref.device, dtype=ref.dtype).reshape(-1, 2)
        step = max(1, chunk_size)
        outs = [
            self.target.forward_batched(params, coords[s : s + step].unsqueeze(0).expand(b, -1, -1))
            for s in range(0, coords.shape[0], step)
        ]
        return torch.cat(outs, dim=1).transpose(1, 2).reshape(b, self.channels, *shape)

    def field_values(self, latent: Tensor, shape: Sequence[int] | None = None, *, chunk_size: int = 1 << 30) -> Tensor:
        """The emitted SIRENs' raw values on the fields' [-1, 1] scale (what training losses compare).

        Args:
            latent: ``(B, latent_dim)``.
            shape: ``(H', W')`` to evaluate at (default ``image_size``).
            chunk_size: coordinates per item evaluated at once (default: all at once).

        Returns:
            ``(B, C, H', W')``, unclamped.
        """
        size = self.image_size if shape is None else _image_size(shape)
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive int, got {chunk_size!r}")
        return self._values(self.weights(latent), size, chunk_size)

    def decode(
        self, latent: Tensor, shape: Sequence[int] | None = None, *, clamp: bool = True, chunk_size: int = 16384
    ) -> Tensor:
        """Render the SIRENs of latent codes at any resolution.

        Args:
            latent: ``(B, latent_dim)``.
            shape: ``(H', W')`` to render at (default ``image_size``): the same square at any resolution.
            clamp: clamp to [0, 1].
            chunk_size: coordinates per item evaluated at once.

        Returns:
            Images ``(B, C, H', W')`` on the [0, 1] scale.
        """
        out = to_unit(self.field_values(latent, shape, chunk_size=chunk_size))
        return out.clamp(0.0, 1.0) if clamp else out

    @torch.no_grad()
    def export_code(self, latent: Tensor, index: int = 0) -> Siren:
        """Item ``index``'s emitted SIREN, for codes ``(B, latent_dim)``, as an ordinary
        :class:`~neuralfields.Siren` (a copy that renders like :meth:`decode` of that code, to rounding)."""
        latent = self._check_latent(latent)
        b = latent.shape[0]
        if not isinstance(index, int) or isinstance(index, bool) or not -b <= index < b:
            raise IndexOutOfRangeError(f"index {index!r} is out of range for a batch of {b} items")
        siren = self.target.unbatch(self.weights(latent), index % b)
        assert isinstance(siren, Siren)
        return siren

