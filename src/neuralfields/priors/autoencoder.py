"""Autoencoder priors: a convolutional autoencoder with a sigmoid latent in [0, 1]^d and its prior energy
``E(x) = ||AE(x) - x|| / T``. Training (optionally with latent moment matching) is
:func:`neuralfields.training.train_autoencoder`."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_seed
from .._registry import register
from ..errors import ConfigError, ShapeError
from .base import Prior

__all__ = ["AutoEncoder"]


@register("prior", "autoencoder", example={"image_size": [8, 8], "latent_dim": 2, "width": 4, "seed": 0})
class AutoEncoder(Prior):
    """A small convolutional autoencoder for images ``(B, C, H, W)`` with ``H, W`` divisible by 4.

    Encoder: two stride-2 convolutions and a linear layer to ``latent_dim`` with a sigmoid, so latents lie
    in [0, 1]^d. Decoder: the mirror image, ending in a sigmoid (images in [0, 1]).

    Scale of ``lam``: the energy is the norm of the whole image's reconstruction error (not a sum over
    pixels), so the weight that suits it grows with the image's size. On 8x8 digits denoised at sigma
    0.1 (``neuralfields restore digits --quick``), ``lam="auto"`` chose about 20 for both quick priors;
    the ``lam="auto"`` grid spans ``lam_range = (0.1, 1000)``.

    Args:
        image_size: ``(H, W)``.
        channels: image channels.
        latent_dim: size of the latent.
        width: channels of the first convolution (the second has twice as many).
        temperature: ``T`` of the energy.
        seed: seed of the initialisation (``None`` uses the global RNG; an int leaves it untouched).

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
        self.width, self.temperature, self.seed = width, float(temperature), check_seed(seed, allow_none=True)
        flat = 2 * width * (h // 4) * (w // 4)
        # nn.Module initialisers use the global RNG: seed a fork of it, so the caller's RNG is untouched
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
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

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "image_size": list(self.image_size)}

    def encode(self, x: Tensor) -> Tensor:
        """Latents ``(B, latent_dim)`` in [0, 1]."""
        return torch.sigmoid(self.encoder(self.check_images(x)))

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
