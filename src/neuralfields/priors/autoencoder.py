"""Autoencoder priors: a convolutional autoencoder with a sigmoid latent in [0, 1]^d, its prior energy
``E(x) = ||AE(x) - x|| / T``, and training (optionally with latent moment matching)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import register
from ..errors import ConfigError, DTypeError, ShapeError
from ..grid import RandomBatches
from .moments import moment_matching_loss

__all__ = ["AutoEncoder", "train_autoencoder", "AutoEncoderHistory"]


@register("prior", "autoencoder")
class AutoEncoder(nn.Module):
    """A small convolutional autoencoder for images ``(B, C, H, W)`` with ``H, W`` divisible by 4.

    Encoder: two stride-2 convolutions and a linear layer to ``latent_dim`` with a sigmoid, so latents lie
    in [0, 1]^d. Decoder: the mirror image, ending in a sigmoid (images in [0, 1]).

    Args:
        image_size: ``(H, W)``.
        channels: image channels.
        latent_dim: size of the latent.
        width: channels of the first convolution (the second has twice as many).
        temperature: ``T`` of the energy.
        seed: seed of the initialisation.

    Example:
        >>> ae = AutoEncoder((8, 8), latent_dim=2, seed=0)
        >>> x = torch.rand(3, 1, 8, 8)
        >>> ae.encode(x).shape, ae(x).shape, ae.energy(x).shape
        (torch.Size([3, 2]), torch.Size([3, 1, 8, 8]), torch.Size([3]))
    """

    def __init__(
        self,
        image_size: tuple[int, int] | list[int] = (8, 8),
        channels: int = 1,
        latent_dim: int = 8,
        width: int = 16,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        h, w = (int(s) for s in image_size)
        if h % 4 or w % 4 or h < 4 or w < 4:
            raise ConfigError(f"image_size must be divisible by 4, got {tuple(image_size)}")
        for name, v in (("channels", channels), ("latent_dim", latent_dim), ("width", width)):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive int, got {v!r}")
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature!r}")
        self.image_size, self.channels, self.latent_dim = (h, w), channels, latent_dim
        self.width, self.temperature, self.seed = width, float(temperature), seed
        if seed is not None:
            torch.manual_seed(seed)  # nn.Module initialisers use the global RNG
        flat = 2 * width * (h // 4) * (w // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.GELU(),
            nn.Flatten(), nn.Linear(flat, latent_dim),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, flat), nn.GELU(), nn.Unflatten(1, (2 * width, h // 4, w // 4)),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.GELU(),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
        )  # fmt: skip

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable)."""
        return {
            "image_size": list(self.image_size), "channels": self.channels, "latent_dim": self.latent_dim,
            "width": self.width, "temperature": self.temperature, "seed": self.seed,
        }  # fmt: skip

    def _check(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise DTypeError(f"images must be a floating-point tensor, got {getattr(x, 'dtype', type(x))}")
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.channels, *self.image_size):
            raise ShapeError(
                f"this autoencoder takes images (B, {self.channels}, {self.image_size[0]}, {self.image_size[1]}), "
                f"got {tuple(x.shape)}"
            )
        return x

    def encode(self, x: Tensor) -> Tensor:
        """Latents ``(B, latent_dim)`` in [0, 1]."""
        return torch.sigmoid(self.encoder(self._check(x)))

    def decode(self, z: Tensor) -> Tensor:
        """Images ``(B, C, H, W)`` in [0, 1] from latents ``(B, latent_dim)``."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(f"latents must be (B, {self.latent_dim}), got {tuple(z.shape)}")
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: Tensor) -> Tensor:
        """``AE(x) = decode(encode(x))``."""
        return self.decode(self.encode(x))

    def energy(self, x: Tensor) -> Tensor:
        """Prior energy ``||AE(x) - x|| / T`` per image ``(B,)`` (differentiable in ``x``)."""
        return torch.linalg.vector_norm((self(x) - x).flatten(1), dim=1) / self.temperature


@dataclass
class AutoEncoderHistory:
    """Per-step reconstruction loss (MSE), moment loss and wall time of :func:`train_autoencoder`."""

    loss: list[float] = field(default_factory=list)
    moment_loss: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)


def train_autoencoder(
    model: AutoEncoder,
    images: Tensor,
    *,
    steps: int = 2000,
    batch_size: int = 128,
    lr: float = 2e-3,
    moment_weight: float = 0.0,
    moments: Mapping[str, float] | None = None,
    seed: int = 0,
) -> AutoEncoderHistory:
    """Train an autoencoder on images ``(N, C, H, W)`` in [0, 1] by reconstruction (MSE).

    Args:
        moment_weight: weight of :func:`~neuralfields.priors.moment_matching_loss` of the batch's latents
            (0 for a plain autoencoder; a low weight such as 0.1 moment-matches the latent to the uniform).
        moments: which moments to match and their weights (default: variance and kurtosis).
        seed: seed of the batch order.

    Returns:
        The per-step history.
    """
    model._check(images)
    if not isinstance(steps, int) or steps < 0 or not lr > 0 or moment_weight < 0:
        raise ConfigError(f"bad settings: steps={steps!r}, lr={lr!r}, moment_weight={moment_weight!r}")
    sampler = RandomBatches(images.shape[0], max(2, min(batch_size, images.shape[0])), seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = AutoEncoderHistory()
    for step in range(steps):
        t0 = time.perf_counter()
        x = images[sampler.batch(step)]
        if x.shape[0] < 2:  # the short last batch of an epoch: moments need two latents
            x = images[sampler.batch(step + 1)]
        z = model.encode(x)
        rec = F.mse_loss(model.decode(z), x)
        mom = moment_matching_loss(z, moments) if moment_weight else rec.new_zeros(())
        loss = rec + moment_weight * mom
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.loss.append(float(rec.detach()))
        history.moment_loss.append(float(mom.detach()))
        history.time.append(time.perf_counter() - t0)
        if not math.isfinite(history.loss[-1]):
            raise ConfigError(f"the loss became {history.loss[-1]} at step {step + 1}; lower the learning rate")
    return history
