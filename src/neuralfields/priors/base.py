"""The :class:`Prior` base class (registry kind ``"prior"``): an energy per image, low where images are
plausible, which the inverse-problem solvers add to their data term."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .._checks import check_images
from .._config import Configurable
from .._registry import config_repr

__all__ = ["Prior"]


class Prior(Configurable, nn.Module):
    """An image prior: :meth:`energy` maps images ``(B, C, H, W)`` in [0, 1] to one energy per image ``(B,)``.

    Subclasses implement :meth:`energy` (differentiable in the images) and register with
    ``@neuralfields.register("prior", name)``; their :attr:`config` is captured from the constructor's
    arguments. A prior that only takes one image size or channel count sets :attr:`image_size` /
    :attr:`channels` (both ``None``, the default, mean any), which :meth:`check_images` enforces.
    ``forward`` is the energy unless a subclass gives it another meaning (an autoencoder prior
    reconstructs); solvers always call :meth:`energy`.

    The solvers minimise ``||A x - y||^2 / (2 sigma^2) + lam * E(x)``; ``lam="auto"`` chooses ``lam`` on a
    log grid over :attr:`lam_range` (see :func:`~neuralfields.inverse.lam_sweep`). Each prior states the
    scale of ``lam`` that suits it in its docstring.

    Attributes:
        image_size: the ``(H, W)`` the prior needs, or ``None`` for any. A patch prior
            (:class:`~neuralfields.priors.PatchAutoEncoder`) states its patch here: its network takes
            patches of that size, its energy any image at least that large.
        channels: the channel count it needs, or ``None`` for any.
        lam_range: ``(low, high)`` of the ``lam="auto"`` grid (default ``(0.1, 1000)``).

    Example:
        >>> import torch
        >>> class Brightness(Prior):
        ...     def __init__(self, weight: float = 1.0):
        ...         super().__init__()
        ...         self.weight = weight
        ...     def energy(self, x):
        ...         return self.weight * self.check_images(x).mean((1, 2, 3))
        >>> p = Brightness(2.0)
        >>> p.energy(torch.ones(3, 1, 4, 4)), p.config
        (tensor([2., 2., 2.]), {'weight': 2.0})
    """

    image_size: tuple[int, int] | None = None
    channels: int | None = None
    lam_range: tuple[float, float] = (0.1, 1000.0)

    def energy(self, x: Tensor) -> Tensor:
        """Energy per image: ``(B, C, H, W) -> (B,)``, differentiable in ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must implement energy(x) -> (B,)")

    def forward(self, x: Tensor) -> Tensor:
        """The same as :meth:`energy`."""
        return self.energy(x)

    def check_images(self, x: Any, what: str = "images") -> Tensor:
        """Raise a clear error unless ``x`` is a floating-point batch ``(B, C, H, W)`` this prior takes.

        Returns:
            ``x``.

        Raises:
            DTypeError: not a floating-point tensor.
            ShapeError: not 4-D, or not the :attr:`channels` / :attr:`image_size` the prior needs.
        """
        size = tuple(self.image_size) if self.image_size is not None else None
        return check_images(x, what, channels=self.channels, size=size, owner=type(self).__name__)

    def extra_repr(self) -> str:
        return config_repr(self)
