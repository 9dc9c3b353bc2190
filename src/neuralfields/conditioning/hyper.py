"""HyperSiren: a hypernetwork that reads an image and emits the weights of a SIREN that draws it.

An encoder (:mod:`~neuralfields.conditioning.hyper_encoders`) maps an image (or a set of context pixels)
to a latent code; a head (:mod:`~neuralfields.conditioning.hyper_heads`, a registry kind) maps the code to
a full per-item parameter dict of a template :class:`~neuralfields.Siren` (the :attr:`HyperSiren.target`),
which :meth:`~neuralfields.Siren.forward_batched` evaluates for every item at once. Every head emits the
same dict (name -> ``(B, *shape)``, the names and shapes of ``target.batch_parameters(B)``), so one
evaluation path serves them all and any item exports to an ordinary SIREN. Training is
:func:`neuralfields.training.fit_hyper`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .._registry import available, config_repr, register
from ..errors import ConfigError, InvalidDataError, ShapeError
from ..fields.render import from_unit
from ..fields.siren import Siren
from ..grid import make_grid
from .._checks import (
    check_seed,
    check_float_tensor as _check_float_tensor,
    check_option as _check_option,
    check_positive_float as _check_positive_float,
    check_positive_int as _check_positive_int,
    generator as _generator,
    image_size as _image_size,
)
from .base import Model
from .emitter import SirenEmitter, build_head
from .hyper_encoders import ENCODERS, ConvEncoder, SetEncoder
from .hyper_heads import HEADS, HyperHead

__all__ = ["HyperSiren", "HyperHead", "ENCODERS", "HEADS", "LATENTS"]

LATENTS = ("free", "sigmoid")
"""Latent codes of a :class:`HyperSiren`: ``"free"`` (unbounded) or ``"sigmoid"`` (in ``[0, 1]^d``)."""


_EXAMPLE = {"image_size": [8, 8], "channels": 1, "latent_dim": 4, "hidden_features": 8, "hidden_layers": 1,
            "encoder_width": 4, "seed": 0}  # fmt: skip


@register("model", "hyper-siren", example=_EXAMPLE)
class HyperSiren(Model, SirenEmitter):
    """A hypernetwork: image -> latent code -> the weights of a SIREN that draws the image.

    Encoders (``encoder=``, :mod:`~neuralfields.conditioning.hyper_encoders`): ``"conv"``, a small CNN over
    whole images ``(B, C, H, W)`` of the recorded ``image_size``; ``"set"``, a permutation-invariant encoder
    of context pixels ``(coords (B, M, 2), values (B, M, C))``, so a random subset of the pixels suffices
    (:meth:`encode_context`, :meth:`context_from_images`).

    Heads (``head=``, :mod:`~neuralfields.conditioning.hyper_heads`) all emit a full per-item parameter dict
    of :attr:`target` (names and shapes of ``target.batch_parameters(B)``). The shared base of every head
    is :attr:`target`'s own parameters, built with the SIREN reference initialisation and trained with the
    hypernetwork; each head's latent-dependent part starts ``init_scale`` (default 1e-2) times PyTorch's
    default init, so at step 0 every item's network is a valid reference-init SIREN plus a small
    latent-dependent perturbation: training is stable from the first step (no exploding or dead sine
    layers) while gradients still reach the encoder. ``"full"`` emits every parameter, ``"lowrank"``
    modulates the shared weights by a rank-``rank`` factor, ``"film"`` a FiLM scale (``film_scale=True``)
    and shift of each sine layer.

    Args:
        image_size: ``(H, W)`` the conv encoder expects (and the default render size).
        channels: image channels (1 grey, 3 RGB).
        latent_dim: latent code size.
        encoder: ``"conv"`` or ``"set"`` (:data:`ENCODERS`).
        head: ``"full"``, ``"lowrank"``, ``"film"`` (:data:`HEADS`) or any head registered under the kind
            ``"hyper-head"`` (a :class:`~neuralfields.conditioning.hyper_heads.HyperHead`).
        rank: rank of the ``"lowrank"`` head's modulation.
        hidden_features: width of the target SIREN's sine layers.
        hidden_layers: number of its sine layers.
        first_omega_0: its first layer's frequency factor.
        hidden_omega_0: its other layers' frequency factor.
        encoder_width: channels / width of the encoder.
        latent: ``"free"`` or ``"sigmoid"`` (codes in ``[0, 1]^d``, which can be moment-matched to a uniform
            distribution and sampled, see :meth:`sample`).
        film_scale: the ``"film"`` head emits a scale as well as a shift.
        init_scale: initial scale of the heads' latent-dependent part, relative to PyTorch's default init.
        seed: seed of the initialisation (``None`` uses the global RNG; an int leaves it untouched).

    Attributes:
        target: the template :class:`~neuralfields.Siren` (``backend="eager"``); its parameters are the
            heads' shared base.

    Shape:
        ``forward``: images ``(B, C, H, W)`` in [0, 1] -> reconstructions ``(B, C, H, W)`` in [0, 1].

    Example:
        >>> import neuralfields as nf
        >>> m = HyperSiren(image_size=(16, 16), channels=1, hidden_features=16, seed=0)
        >>> x = nf.data.load_dataset("shapes", n=2, size=16)
        >>> m(x).shape, m.decode(m.encode(x), shape=(32, 32)).shape
        (torch.Size([2, 1, 16, 16]), torch.Size([2, 1, 32, 32]))
        >>> siren = m.export(x, index=1)  # an ordinary Siren with item 1's weights
        >>> bool(torch.allclose(nf.render(siren, (16, 16)), m(x)[1], atol=1e-5))
        True
    """

    def __init__(
        self,
        image_size: Sequence[int] | int,
        channels: int,
        latent_dim: int = 64,
        encoder: str = "conv",
        head: str = "full",
        rank: int = 4,
        hidden_features: int = 32,
        hidden_layers: int = 3,
        first_omega_0: float = 30.0,
        hidden_omega_0: float = 30.0,
        encoder_width: int = 32,
        latent: str = "free",
        film_scale: bool = True,
        init_scale: float = 0.01,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.image_size = _image_size(image_size)
        self.channels = _check_positive_int("channels", channels)
        self.latent_dim = _check_positive_int("latent_dim", latent_dim)
        self.encoder_name = _check_option("encoder", encoder, ENCODERS)
        self.head_name = _check_option("head", head, available("hyper-head"))
        self.latent = _check_option("latent", latent, LATENTS)
        self.rank = _check_positive_int("rank", rank)
        self.hidden_features = _check_positive_int("hidden_features", hidden_features)
        self.hidden_layers = _check_positive_int("hidden_layers", hidden_layers)
        self.first_omega_0 = _check_positive_float("first_omega_0", first_omega_0)
        self.hidden_omega_0 = _check_positive_float("hidden_omega_0", hidden_omega_0)
        self.encoder_width = _check_positive_int("encoder_width", encoder_width)
        self.film_scale = bool(film_scale)
        self.init_scale = _check_positive_float("init_scale", init_scale)
        self.seed = check_seed(seed, allow_none=True)
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.target = Siren(
                2, channels, hidden_features, hidden_layers, self.first_omega_0, self.hidden_omega_0,
                seed=seed, backend="eager",
            )
            enc = ConvEncoder if encoder == "conv" else SetEncoder
            self.encoder = enc(channels, latent_dim, encoder_width)
            self.head = build_head(head, self.target, latent_dim, self.init_scale, self.rank, self.film_scale)

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "image_size": list(self.image_size)}  # an int size is stored as (H, W)

    def extra_repr(self) -> str:
        return config_repr(self)

    def example_inputs(self, batch: int = 2, *, seed: int = 0) -> tuple[Any, ...]:
        """Random images ``(batch, C, H, W)`` in [0, 1] of ``image_size`` (the arguments of ``forward``)."""
        ref = self._ref()
        gen = torch.Generator().manual_seed(seed)
        images = torch.rand(batch, self.channels, *self.image_size, generator=gen, dtype=ref.dtype)
        return (images.to(ref.device),)

    # ---- encoding ---------------------------------------------------------------------------
    def check_images(self, images: Any, check_size: bool = True) -> Tensor:
        """Validate a batch of images ``(B, C, H, W)`` and return it.

        Raises:
            DTypeError: not a floating-point tensor.
            ShapeError: not 4-D, wrong channel count, or (``check_size``) not ``image_size``.
        """
        images = _check_float_tensor("images", images)
        if images.dim() != 4:
            hint = "; add a batch dimension with images[None]" if images.dim() == 3 else ""
            raise ShapeError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}{hint}")
        if images.shape[1] != self.channels:
            raise ShapeError(
                f"images have {images.shape[1]} channels but this HyperSiren was built for "
                f"channels={self.channels}; convert them or build it with channels={images.shape[1]}"
            )
        if check_size and tuple(images.shape[-2:]) != self.image_size:
            raise ShapeError(
                f"the conv encoder expects images of size {self.image_size} (image_size), got "
                f"{tuple(images.shape[-2:])}; resize them or build a HyperSiren with that image_size"
            )
        if images.shape[0] == 0:
            raise InvalidDataError("images is an empty batch (B = 0)")
        return images

    def _latent(self, pre: Tensor) -> Tensor:
        return torch.sigmoid(pre) if self.latent == "sigmoid" else pre

    def encode(self, images: Tensor) -> Tensor:
        """Latent codes of images.

        With the ``"set"`` encoder every pixel is context (any image size works).

        Args:
            images: ``(B, C, H, W)`` in [0, 1].

        Returns:
            ``(B, latent_dim)`` (in ``[0, 1]`` when ``latent="sigmoid"``).
        """
        images = self.check_images(images, check_size=self.encoder_name == "conv")
        if self.encoder_name == "set":
            b, c, h, w = images.shape
            coords = make_grid((h, w), device=images.device, dtype=images.dtype).reshape(1, -1, 2).expand(b, -1, -1)
            return self.encode_context(coords, images.reshape(b, c, -1).transpose(1, 2))
        return self._latent(self.encoder(from_unit(images)))

    def encode_context(self, coords: Tensor, values: Tensor) -> Tensor:
        """Latent codes from context pixels (``encoder="set"`` only); the order of the points does not matter.

        Args:
            coords: ``(B, M, 2)`` pixel coordinates in [-1, 1] (see :func:`~neuralfields.grid.make_grid`).
            values: ``(B, M, C)`` pixel values in [0, 1].

        Returns:
            ``(B, latent_dim)``.

        Raises:
            ConfigError: the encoder is not ``"set"``.
            InvalidDataError: no context points (``M == 0``).
        """
        if self.encoder_name != "set":
            raise ConfigError(f"encode_context needs encoder='set'; this HyperSiren has encoder={self.encoder_name!r} (use encode)")
        coords = _check_float_tensor("coords", coords)
        values = _check_float_tensor("values", values)
        if coords.dim() != 3 or coords.shape[-1] != 2:
            raise ShapeError(f"context coords must have shape (B, M, 2), got {tuple(coords.shape)}")
        if values.dim() != 3 or values.shape[:2] != coords.shape[:2] or values.shape[-1] != self.channels:
            raise ShapeError(
                f"context values must have shape (B, M, {self.channels}) matching coords {tuple(coords.shape)}, "
                f"got {tuple(values.shape)}"
            )
        if coords.shape[1] == 0:
            raise InvalidDataError("the context is empty (M = 0 points); give at least one pixel per item")
        return self._latent(self.encoder(coords, from_unit(values)))

    def context_from_images(
        self, images: Tensor, fraction: float, seed: int | torch.Generator = 0
    ) -> tuple[Tensor, Tensor]:
        """A random fixed subset of each image's pixels, as context for :meth:`encode_context`.

        Args:
            images: ``(B, C, H, W)`` in [0, 1].
            fraction: fraction of the pixels to keep, in ``(0, 1]`` (at least one pixel).
            seed: seed or generator of the subsets (each image gets its own subset).

        Returns:
            ``(coords (B, M, 2), values (B, M, C))`` with ``M = max(1, round(fraction * H * W))``.
        """
        images = self.check_images(images, check_size=False)
        if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0.0 < fraction <= 1.0:
            raise ConfigError(f"context fraction must be in (0, 1], got {fraction!r}")
        gen = _generator(seed)
        b, c, h, w = images.shape
        m = max(1, round(fraction * h * w))
        idx = torch.stack([torch.randperm(h * w, generator=gen)[:m] for _ in range(b)]).to(images.device)
        grid = make_grid((h, w), device=images.device, dtype=images.dtype).reshape(-1, 2)
        values = torch.gather(images.reshape(b, c, -1).transpose(1, 2), 1, idx[..., None].expand(-1, -1, c))
        return grid[idx], values

    def forward(self, images: Tensor, *, clamp: bool = True) -> Tensor:
        """Reconstruct images at their resolution: ``(B, C, H, W)`` in [0, 1] -> ``(B, C, H, W)`` in [0, 1]."""
        latent = self.encode(images)
        return self.decode(latent, tuple(images.shape[-2:]), clamp=clamp)

    @torch.no_grad()
    def sample(self, n: int, seed: int | torch.Generator = 0, shape: Sequence[int] | None = None) -> Tensor:
        """Images from random latent codes (no gradients).

        Codes are drawn from ``U[0, 1]^d`` for ``latent="sigmoid"`` (the distribution moment matching
        pulls the encoder's codes towards, see :func:`~neuralfields.training.fit_hyper`) and from ``N(0, I)`` for ``latent="free"``
        (meaningful only if the free codes were regularised towards it).

        Args:
            n: number of images.
            seed: seed or generator.
            shape: ``(H', W')`` (default ``image_size``).

        Returns:
            ``(n, C, H', W')`` in [0, 1].
        """
        n = _check_positive_int("n", n)
        gen = _generator(seed)
        ref = self._ref()
        if self.latent == "sigmoid":
            z = torch.rand(n, self.latent_dim, generator=gen, dtype=ref.dtype)
        else:
            z = torch.randn(n, self.latent_dim, generator=gen, dtype=ref.dtype)
        return self.decode(z.to(ref.device), shape)

    @torch.no_grad()
    def export(self, latent_or_images: Tensor, index: int = 0) -> Siren:
        """Item ``index``'s emitted SIREN as an ordinary :class:`~neuralfields.Siren` (a copy).

        It renders like this model's output for that item (to rounding), and can be saved, loaded and
        fine-tuned like any Siren.

        Args:
            latent_or_images: latent codes ``(B, latent_dim)`` or images ``(B, C, H, W)``.
            index: which item.
        """
        x = _check_float_tensor("latent_or_images", latent_or_images)
        return self.export_code(self.encode(x) if x.dim() == 4 else x, index)
