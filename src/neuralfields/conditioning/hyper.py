"""HyperSiren: a hypernetwork that reads an image and emits the weights of a SIREN that draws it.

An encoder maps an image (or a set of context pixels) to a latent code; a head maps the code to a full
per-item parameter dict of a template :class:`~neuralfields.Siren` (the :attr:`HyperSiren.target`),
which :meth:`~neuralfields.Siren.forward_batched` evaluates for every item at once. Every head emits the
same dict (name -> ``(B, *shape)``, the names and shapes of ``target.batch_parameters(B)``), so one
evaluation path serves them all and any item exports to an ordinary SIREN.
"""

from __future__ import annotations

import difflib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .._progress import progress_bar
from .._registry import config_repr, register
from ..errors import ConfigError, DTypeError, IndexOutOfRangeError, InvalidDataError, ShapeError
from ..fields.render import from_unit, to_unit
from ..fields.siren import Siren
from ..grid import RandomBatches, make_grid

__all__ = ["HyperSiren", "HyperFitResult", "fit_hyper", "ENCODERS", "HEADS", "LATENTS"]

ENCODERS = ("conv", "set")
"""Encoders of a :class:`HyperSiren`: ``"conv"`` (a CNN over whole images of a fixed size) and ``"set"``
(a permutation-invariant encoder of context pixels ``(coords, values)``)."""

HEADS = ("full", "lowrank", "film")
"""How a :class:`HyperSiren` turns a latent code into SIREN weights (see the class docs)."""

LATENTS = ("free", "sigmoid")
"""Latent codes of a :class:`HyperSiren`: ``"free"`` (unbounded) or ``"sigmoid"`` (in ``[0, 1]^d``)."""

_POOL = 4  # the conv encoder pools its feature maps to _POOL x _POOL cells
_CONTEXT_FREQS = 4  # octaves of the set encoder's Fourier features of the coordinates


def _check_option(what: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        close = difflib.get_close_matches(str(value), options, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown {what} {value!r}.{hint} Available: {', '.join(repr(o) for o in options)}.")
    return value


def _check_positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")
    return value


def _check_positive_float(name: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or not math.isfinite(value):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _check_float_tensor(name: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise DTypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise DTypeError(f"{name} must be floating point, got {x.dtype}; convert 8-bit images with x.float() / 255")
    return x


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def _small_linear(n_in: int, n_out: int, scale: float, bias: bool = True) -> nn.Linear:
    """A linear layer with PyTorch's default weights times ``scale`` and a zero bias."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    with torch.no_grad():
        layer.weight.mul_(scale)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


# ---- encoders ---------------------------------------------------------------------------------


class _ConvEncoder(nn.Module):
    """Images ``(B, C, H, W)`` -> pre-latent ``(B, latent_dim)``: a 3x3 conv, two stride-2 convs, an
    adaptive average pool to ``4 x 4`` cells (keeps the coarse layout; any image size works) and a linear map."""

    def __init__(self, channels: int, latent_dim: int, width: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(_POOL),
        )
        self.out = nn.Linear(2 * width * _POOL * _POOL, latent_dim)

    def forward(self, images: Tensor) -> Tensor:
        return self.out(self.convs(images).flatten(1))


def _fourier(coords: Tensor) -> Tensor:
    """``(B, M, 2)`` -> ``(B, M, 2 + 4 * _CONTEXT_FREQS)``: coordinates and their sines / cosines."""
    freqs = math.pi * 2.0 ** torch.arange(_CONTEXT_FREQS, device=coords.device, dtype=coords.dtype)
    angles = (coords[..., None] * freqs).flatten(-2)
    return torch.cat([coords, torch.sin(angles), torch.cos(angles)], dim=-1)


class _SetEncoder(nn.Module):
    """Context ``(coords (B, M, 2), values (B, M, C))`` -> pre-latent ``(B, latent_dim)``.

    A per-point MLP of (Fourier features of) the coordinates gives ``width`` basis functions per channel,
    ``phi(x)``; the mean over the points of ``phi(x) . value`` (a Monte-Carlo estimate of the image's
    projections onto the basis functions, so independent of ``M`` in expectation) goes through an MLP.
    Values enter linearly before the pool: with a generic per-point MLP of ``(coords, value)`` the
    pooled features are dominated by which coordinates were drawn, and training stalls at the mean image.
    """

    def __init__(self, channels: int, latent_dim: int, width: int) -> None:
        super().__init__()
        self.channels, self.width = channels, width
        n_in = 2 + 4 * _CONTEXT_FREQS
        self.point = nn.Sequential(
            nn.Linear(n_in, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width * channels)
        )
        self.pooled = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, latent_dim))

    def forward(self, coords: Tensor, values: Tensor) -> Tensor:
        phi = self.point(_fourier(coords)).unflatten(-1, (self.width, self.channels))  # (B, M, width, C)
        h = (phi * values[..., None, :]).sum(-1)
        return self.pooled(h.mean(dim=1))


# ---- heads ------------------------------------------------------------------------------------


def _init_bound(layer: nn.Linear, omega_0: float, first: bool) -> tuple[float, float]:
    """The SIREN reference init's bounds (weight, bias) of one layer (see :func:`~neuralfields.fields.siren.siren_init_`)."""
    n = layer.in_features
    return (1.0 / n if first else math.sqrt(6.0 / n) / omega_0), 1.0 / math.sqrt(n)


class _FullHead(nn.Module):
    """Every parameter from the latent: ``p = base_p + bound_p * (H z)_p``.

    ``bound_p`` is the reference init's bound of that parameter, so the head works in units of each layer's
    init scale; ``H`` (no bias: the shared part is the base) starts at ``init_scale`` times PyTorch's default.
    """

    def __init__(self, target: Siren, latent_dim: int, init_scale: float, rank: int) -> None:
        super().__init__()
        bounds, self._shapes = [], []
        for i, layer in enumerate(target.layers):
            wb, bb = _init_bound(layer, target.omega(i), i == 0)
            for name, p, bound in ((f"layers.{i}.weight", layer.weight, wb), (f"layers.{i}.bias", layer.bias, bb)):
                self._shapes.append((name, tuple(p.shape)))
                bounds.append(torch.full((p.numel(),), bound))
        self.register_buffer("bounds", torch.cat(bounds), persistent=False)
        self.linear = _small_linear(latent_dim, self.bounds.numel(), init_scale, bias=False)

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        delta = self.linear(z) * self.bounds
        base = dict(target.named_parameters())
        out, start = {}, 0
        for name, shape in self._shapes:
            n = math.prod(shape)
            out[name] = base[name] + delta[:, start : start + n].reshape(-1, *shape)
            start += n
        return out


class _LowRankHead(nn.Module):
    """Shared weights times a per-item rank-``r`` factor, ``W = W0 * (1 + u v^T)``; ``b = b0 + bound * shift``.

    ``u`` and the bias shift start at ``init_scale`` times PyTorch's default init, ``v`` at the default
    (as in LoRA: the product starts small while both factors still get gradients).
    """

    def __init__(self, target: Siren, latent_dim: int, init_scale: float, rank: int) -> None:
        super().__init__()
        self.rank = rank
        self._dims = [(layer.out_features, layer.in_features) for layer in target.layers]
        self.u = _small_linear(latent_dim, rank * sum(o for o, _ in self._dims), init_scale)
        self.v = nn.Linear(latent_dim, rank * sum(i for _, i in self._dims))
        self.shift = _small_linear(latent_dim, sum(o for o, _ in self._dims), init_scale)
        bias_bounds = [torch.full((o,), _init_bound(layer, target.omega(k), k == 0)[1]) for k, (layer, (o, _)) in enumerate(zip(target.layers, self._dims))]
        self.register_buffer("bias_bounds", torch.cat(bias_bounds), persistent=False)

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        b, r = z.shape[0], self.rank
        u_all, v_all, shift_all = self.u(z), self.v(z), self.shift(z) * self.bias_bounds
        out: dict[str, Tensor] = {}
        su = sv = so = 0
        for i, (layer, (o, n)) in enumerate(zip(target.layers, self._dims)):
            u = u_all[:, su : su + o * r].reshape(b, o, r)
            v = v_all[:, sv : sv + n * r].reshape(b, n, r)
            out[f"layers.{i}.weight"] = layer.weight * (1.0 + torch.bmm(u, v.transpose(1, 2)))
            out[f"layers.{i}.bias"] = layer.bias + shift_all[:, so : so + o]
            su, sv, so = su + o * r, sv + n * r, so + o
        return out


class _FilmHead(nn.Module):
    """A shared SIREN with per-item FiLM of every sine layer, folded into the weights:
    ``scale * (W x + b) + shift = (scale * W) x + (scale * b + shift)``. The head starts at ``init_scale``
    times PyTorch's default with a zero bias, so ``scale ~ 1`` and ``shift ~ 0``; the linear output
    layer is shared."""

    def __init__(self, target: Siren, latent_dim: int, init_scale: float, rank: int, film_scale: bool = True) -> None:
        super().__init__()
        self.film_scale = film_scale
        self._widths = [layer.out_features for i, layer in enumerate(target.layers) if target._is_sine(i)]
        per = 2 if film_scale else 1
        self.linear = _small_linear(latent_dim, per * sum(self._widths), init_scale)

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        b = z.shape[0]
        mods = self.linear(z)
        out: dict[str, Tensor] = {}
        start = 0
        for i, layer in enumerate(target.layers):
            w, bias = layer.weight, layer.bias
            if not target._is_sine(i):
                out[f"layers.{i}.weight"] = w.expand(b, *w.shape)
                out[f"layers.{i}.bias"] = bias.expand(b, *bias.shape)
                continue
            o = layer.out_features
            if self.film_scale:
                scale = 1.0 + mods[:, start : start + o]
                start += o
            else:
                scale = torch.ones(b, o, dtype=z.dtype, device=z.device)
            shift = mods[:, start : start + o]
            start += o
            out[f"layers.{i}.weight"] = scale[:, :, None] * w
            out[f"layers.{i}.bias"] = scale * bias + shift
        return out


_HEAD_CLASSES = {"full": _FullHead, "lowrank": _LowRankHead, "film": _FilmHead}


# ---- the model --------------------------------------------------------------------------------


def _image_size(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        size = tuple(value)
    except TypeError:
        raise ConfigError(f"image_size must be (H, W) positive ints, got {value!r}") from None
    if len(size) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size):
        raise ConfigError(f"image_size must be (H, W) positive ints, got {value!r}")
    return size  # type: ignore[return-value]


@register("conditioning", "hyper-siren")
class HyperSiren(nn.Module):
    """A hypernetwork: image -> latent code -> the weights of a SIREN that draws the image.

    Encoders (``encoder=``):

    * ``"conv"``: a small CNN over whole images ``(B, C, H, W)`` of the recorded ``image_size`` (a 3x3 conv,
      two stride-2 convs, an adaptive average pool to 4x4 cells and a linear map);
    * ``"set"``: a permutation-invariant encoder of context pixels ``(coords (B, M, 2), values (B, M, C))``
      (a per-point MLP of Fourier features of the coordinates gives basis functions; the mean over the
      points of basis functions times values goes through an MLP), so a random subset of the pixels
      suffices (:meth:`encode_context`, :meth:`context_from_images`).

    Heads (``head=``) all emit a full per-item parameter dict of :attr:`target` (names and shapes of
    ``target.batch_parameters(B)``). The shared base of every head is :attr:`target`'s own parameters,
    built with the SIREN reference initialisation and trained with the hypernetwork; each head's
    latent-dependent part starts ``init_scale`` (default 1e-2) times PyTorch's default init, so at step 0
    every item's network is a valid reference-init SIREN plus a small latent-dependent perturbation.
    This keeps training stable from the first step (no exploding or dead sine layers) while gradients
    still reach the encoder.

    * ``"full"``: ``p = base_p + bound_p * (H z)_p`` for every parameter, ``bound_p`` its init bound (the
      head works in units of each layer's init scale);
    * ``"lowrank"``: ``W = W0 * (1 + u v^T)`` with ``u, v`` of rank ``rank`` from the latent (``u`` small,
      ``v`` at the default init, as in LoRA), biases ``b0 + shift``;
    * ``"film"``: a shared SIREN with a per-item FiLM scale (``film_scale=True``) and shift of each sine
      layer, folded into that layer's weights and bias.

    Args:
        image_size: ``(H, W)`` the conv encoder expects (and the default render size).
        channels: image channels (1 grey, 3 RGB).
        latent_dim: latent code size.
        encoder: ``"conv"`` or ``"set"`` (:data:`ENCODERS`).
        head: ``"full"``, ``"lowrank"`` or ``"film"`` (:data:`HEADS`).
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
        self.head_name = _check_option("head", head, HEADS)
        self.latent = _check_option("latent", latent, LATENTS)
        self.rank = _check_positive_int("rank", rank)
        self.hidden_features = _check_positive_int("hidden_features", hidden_features)
        self.hidden_layers = _check_positive_int("hidden_layers", hidden_layers)
        self.first_omega_0 = _check_positive_float("first_omega_0", first_omega_0)
        self.hidden_omega_0 = _check_positive_float("hidden_omega_0", hidden_omega_0)
        self.encoder_width = _check_positive_int("encoder_width", encoder_width)
        self.film_scale = bool(film_scale)
        self.init_scale = _check_positive_float("init_scale", init_scale)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ConfigError(f"seed must be an int or None, got {seed!r}")
        self.seed = seed
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.target = Siren(
                2, channels, hidden_features, hidden_layers, self.first_omega_0, self.hidden_omega_0,
                seed=seed, backend="eager",
            )
            enc = _ConvEncoder if encoder == "conv" else _SetEncoder
            self.encoder = enc(channels, latent_dim, encoder_width)
            kwargs = {"film_scale": self.film_scale} if head == "film" else {}
            self.head = _HEAD_CLASSES[head](self.target, latent_dim, self.init_scale, self.rank, **kwargs)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable)."""
        return {
            "image_size": list(self.image_size),
            "channels": self.channels,
            "latent_dim": self.latent_dim,
            "encoder": self.encoder_name,
            "head": self.head_name,
            "rank": self.rank,
            "hidden_features": self.hidden_features,
            "hidden_layers": self.hidden_layers,
            "first_omega_0": self.first_omega_0,
            "hidden_omega_0": self.hidden_omega_0,
            "encoder_width": self.encoder_width,
            "latent": self.latent,
            "film_scale": self.film_scale,
            "init_scale": self.init_scale,
            "seed": self.seed,
        }

    def extra_repr(self) -> str:
        return config_repr(self)

    def _ref(self) -> Tensor:
        return self.target.layers[0].weight

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

    # ---- decoding ---------------------------------------------------------------------------
    def _check_latent(self, latent: Any) -> Tensor:
        latent = _check_float_tensor("latent", latent)
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
        size = self.image_size if shape is None else _image_size(shape)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive int, got {chunk_size!r}")
        out = to_unit(self._values(self.weights(latent), size, chunk_size))
        return out.clamp(0.0, 1.0) if clamp else out

    def forward(self, images: Tensor, *, clamp: bool = True) -> Tensor:
        """Reconstruct images at their resolution: ``(B, C, H, W)`` in [0, 1] -> ``(B, C, H, W)`` in [0, 1]."""
        latent = self.encode(images)
        return self.decode(latent, tuple(images.shape[-2:]), clamp=clamp)

    @torch.no_grad()
    def sample(self, n: int, seed: int | torch.Generator = 0, shape: Sequence[int] | None = None) -> Tensor:
        """Images from random latent codes (no gradients).

        Codes are drawn from ``U[0, 1]^d`` for ``latent="sigmoid"`` (the distribution moment matching
        pulls the encoder's codes towards, see :func:`fit_hyper`) and from ``N(0, I)`` for ``latent="free"``
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
        latent = self.encode(x) if x.dim() == 4 else self._check_latent(x)
        b = latent.shape[0]
        if not isinstance(index, int) or isinstance(index, bool) or not -b <= index < b:
            raise IndexOutOfRangeError(f"index {index!r} is out of range for a batch of {b} items")
        siren = self.target.unbatch(self.weights(latent), index % b)
        assert isinstance(siren, Siren)
        return siren


# ---- training ---------------------------------------------------------------------------------


@dataclass
class HyperFitResult:
    """What :func:`fit_hyper` recorded.

    Attributes:
        train_loss: per step, the loss of its batch (reconstruction MSE on the [-1, 1] scale, plus the
            weighted latent loss).
        train_psnr: per step, the PSNR of its batch's reconstructions ([0, 1] scale, before the update).
        test_step: steps at which the test images were evaluated (0: before training).
        test_psnr: PSNR over all test images at those steps.
        test_psnr_final: the test PSNR after the last step (``None`` without test images).
        time_per_step: mean wall time of an update in seconds (evaluations excluded).
        steps: updates done.
    """

    train_loss: list[float] = field(default_factory=list)
    train_psnr: list[float] = field(default_factory=list)
    test_step: list[int] = field(default_factory=list)
    test_psnr: list[float] = field(default_factory=list)
    test_psnr_final: float | None = None
    time_per_step: float = 0.0
    steps: int = 0


def _psnr(mse: float) -> float:
    return math.inf if mse <= 0.0 else 10.0 * math.log10(1.0 / mse)


@torch.no_grad()
def _evaluate(model: HyperSiren, images: Tensor, batch_size: int, context_fraction: float | None, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for s in range(0, images.shape[0], batch_size):
        x = images[s : s + batch_size]
        if context_fraction is None:
            latent = model.encode(x)
        else:
            latent = model.encode_context(*model.context_from_images(x, context_fraction, gen))
        pred = model.decode(latent, tuple(x.shape[-2:]))
        total += float(((pred.double() - x.double()) ** 2).sum())
        count += x.numel()
    return _psnr(total / count)


def fit_hyper(
    model: HyperSiren,
    train_images: Tensor,
    *,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 32,
    context_fraction: float | None = None,
    latent_loss: Callable[[Tensor], Tensor] | None = None,
    moment_weight: float = 0.0,
    seed: int = 0,
    test_images: Tensor | None = None,
    eval_every: int | None = None,
    progress: bool = True,
) -> HyperFitResult:
    """Train a :class:`HyperSiren` (in place) to reconstruct images, with Adam at a constant learning rate.

    The loss is the MSE of the reconstructions on the field's [-1, 1] scale (as in
    :func:`~neuralfields.fit`), plus ``moment_weight * latent_loss(latent)`` when ``moment_weight > 0``.
    The intended latent loss is :func:`neuralfields.priors.moment_matching_loss` with ``latent="sigmoid"``,
    which pulls the codes towards ``U[0, 1]^d`` so that :meth:`HyperSiren.sample` draws plausible codes
    (it is passed in because conditioning does not import priors).

    Args:
        model: the model to train.
        train_images: ``(N, C, H, W)`` in [0, 1].
        steps: number of updates.
        lr: Adam's learning rate.
        batch_size: images per step (drawn without replacement within an epoch).
        context_fraction: with the ``"set"`` encoder, encode a fresh random subset of this fraction of each
            image's pixels every step (the loss is on all pixels); ``None``: every pixel is context.
        latent_loss: a differentiable function of the batch's codes ``(B, latent_dim)`` -> scalar.
        moment_weight: weight of ``latent_loss`` (0 turns it off).
        seed: seed of the batch order and the contexts.
        test_images: ``(M, C, H, W)`` evaluated before training, every ``eval_every`` steps and at the end
            (with ``context_fraction``, on a fixed random context of each image).
        eval_every: steps between test evaluations (default ``max(1, steps // 10)``).
        progress: show a progress bar (only when stderr is a terminal).

    Returns:
        A :class:`HyperFitResult`.
    """
    if not isinstance(model, HyperSiren):
        raise DTypeError(f"fit_hyper needs a HyperSiren, got {type(model).__name__}")
    steps = _check_positive_int("steps", steps)
    batch_size = _check_positive_int("batch_size", batch_size)
    _check_positive_float("lr", lr)
    eval_every = max(1, steps // 10) if eval_every is None else _check_positive_int("eval_every", eval_every)
    if not isinstance(moment_weight, (int, float)) or not moment_weight >= 0:
        raise ConfigError(f"moment_weight must be >= 0, got {moment_weight!r}")
    if moment_weight > 0 and latent_loss is None:
        raise ConfigError("moment_weight > 0 needs a latent_loss, e.g. latent_loss=neuralfields.priors.moment_matching_loss")
    if context_fraction is not None:
        if model.encoder_name != "set":
            raise ConfigError(f"context_fraction needs encoder='set'; the model has encoder={model.encoder_name!r}")
        if not isinstance(context_fraction, (int, float)) or not 0.0 < context_fraction <= 1.0:
            raise ConfigError(f"context_fraction must be in (0, 1], got {context_fraction!r}")
    ref = model._ref()
    train = model.check_images(train_images, check_size=model.encoder_name == "conv").to(ref)
    test = None
    if test_images is not None:
        test = model.check_images(test_images, check_size=model.encoder_name == "conv").to(ref)

    result = HyperFitResult()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = RandomBatches(train.shape[0], batch_size, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    shape = tuple(train.shape[-2:])

    def evaluate(step: int) -> None:
        if test is not None:
            result.test_step.append(step)
            result.test_psnr.append(_evaluate(model, test, batch_size, context_fraction, seed + 1))

    evaluate(0)
    bar = progress_bar(progress, steps, "fit_hyper")
    elapsed = 0.0
    try:
        for step in range(steps):
            t0 = time.perf_counter()
            x = train[batches.batch(step).to(train.device)]
            if context_fraction is None:
                latent = model.encode(x)
            else:
                latent = model.encode_context(*model.context_from_images(x, context_fraction, gen))
            pred = model._values(model.weights(latent), shape, 1 << 30)
            mse = torch.mean((pred - from_unit(x)) ** 2)
            loss = mse
            if moment_weight > 0 and latent_loss is not None:
                loss = loss + moment_weight * latent_loss(latent)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            elapsed += time.perf_counter() - t0
            result.train_loss.append(float(loss.detach()))
            result.train_psnr.append(_psnr(float(mse.detach()) / 4.0))
            result.steps = step + 1
            if (step + 1) % eval_every == 0 and step + 1 < steps:
                evaluate(step + 1)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(psnr=f"{result.train_psnr[-1]:.2f}")
    finally:
        if bar is not None:
            bar.close()
    evaluate(steps)
    result.test_psnr_final = result.test_psnr[-1] if test is not None else None
    result.time_per_step = elapsed / max(1, result.steps)
    return result
