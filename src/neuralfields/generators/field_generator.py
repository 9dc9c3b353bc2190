"""A generator of fields: noise -> mapping network -> code -> a registered head -> the weights of a SIREN.

Every sample is a field: it renders at any resolution and exports as a plain :class:`~neuralfields.Siren`.
The heads are those of :class:`~neuralfields.HyperSiren` (kind ``"hyper-head"``): ``"lowrank"`` is the
INR-GAN's factorised multiplicative modulation of a shared SIREN, ``"film"`` a FiLM of each sine layer,
``"full"`` every weight. Training is :func:`neuralfields.training.train_field_generator` (adversarial).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import (
    check_float_tensor,
    check_option,
    check_positive_float,
    check_positive_int,
    check_seed,
    generator as _generator,
    image_size as _image_size,
)
from .._registry import available, config_repr, register
from ..conditioning.base import Model
from ..conditioning.emitter import SirenEmitter, build_head
from ..errors import ShapeError
from ..fields.siren import Siren

__all__ = ["FieldGenerator"]

_EXAMPLE = {"image_size": [8, 8], "channels": 1, "noise_dim": 4, "latent_dim": 4, "mapping_width": 8,
            "hidden_features": 8, "hidden_layers": 1, "seed": 0}  # fmt: skip


@register("model", "field-generator", example=_EXAMPLE)
class FieldGenerator(Model, SirenEmitter):
    """Noise ``(B, noise_dim)`` -> images that are fields: a mapping network, a head and a shared SIREN.

    The mapping network (``mapping_layers`` linear layers with leaky ReLUs, after normalising the noise to
    unit mean square) turns Gaussian noise into a code ``(B, latent_dim)``; the head emits every item's SIREN
    parameters from its code (:meth:`weights`), around the shared :attr:`target`. As in
    :class:`~neuralfields.HyperSiren`, the head's code-dependent part starts at ``init_scale`` times PyTorch's
    default, so at step 0 every sample is a reference-init SIREN plus a perturbation.

    Args:
        image_size: ``(H, W)`` rendered by default (the training resolution).
        channels: image channels.
        noise_dim: size of the noise.
        latent_dim: size of the code the head reads.
        mapping_layers: linear layers of the mapping network.
        mapping_width: width of its hidden layers.
        head: a registered hyper-head: ``"lowrank"`` (default), ``"film"``, ``"full"`` or a plugin's.
        rank: rank of the ``"lowrank"`` head.
        hidden_features: width of the SIREN's sine layers.
        hidden_layers: number of its sine layers.
        first_omega_0: its first layer's frequency factor.
        hidden_omega_0: its other layers' frequency factor.
        film_scale: the ``"film"`` head emits a scale as well as a shift.
        init_scale: initial scale of the head's code-dependent part.
        seed: seed of the initialisation (an int leaves the global RNG untouched).

    Shape:
        ``forward``: noise ``(B, noise_dim)`` -> images ``(B, C, H, W)`` in [0, 1] at ``image_size``.

    Example:
        >>> import neuralfields as nf
        >>> g = FieldGenerator((16, 16), 1, noise_dim=8, latent_dim=8, hidden_features=16, seed=0)
        >>> z = g.noise(3, seed=0)
        >>> g(z).shape, g.generate(z, shape=(64, 64)).shape
        (torch.Size([3, 1, 16, 16]), torch.Size([3, 1, 64, 64]))
        >>> siren = g.export(z, index=2)  # an ordinary Siren: sample 2
        >>> bool(torch.allclose(nf.render(siren, (16, 16)), g(z)[2], atol=1e-5))
        True
    """

    def __init__(
        self,
        image_size: Sequence[int] | int = (16, 16),
        channels: int = 1,
        noise_dim: int = 32,
        latent_dim: int = 64,
        mapping_layers: int = 2,
        mapping_width: int = 64,
        head: str = "lowrank",
        rank: int = 4,
        hidden_features: int = 32,
        hidden_layers: int = 3,
        first_omega_0: float = 30.0,
        hidden_omega_0: float = 30.0,
        film_scale: bool = True,
        init_scale: float = 0.1,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.image_size = _image_size(image_size)
        self.channels = check_positive_int("channels", channels)
        self.noise_dim = check_positive_int("noise_dim", noise_dim)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.mapping_layers = check_positive_int("mapping_layers", mapping_layers)
        self.mapping_width = check_positive_int("mapping_width", mapping_width)
        self.head_name = check_option("head", head, available("hyper-head"))
        self.rank = check_positive_int("rank", rank)
        self.init_scale = check_positive_float("init_scale", init_scale)
        self.seed = check_seed(seed, allow_none=True)
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.target = Siren(
                2, self.channels, check_positive_int("hidden_features", hidden_features),
                check_positive_int("hidden_layers", hidden_layers), check_positive_float("first_omega_0", first_omega_0),
                check_positive_float("hidden_omega_0", hidden_omega_0), seed=seed, backend="eager",
            )  # fmt: skip
            widths = [self.noise_dim] + [self.mapping_width] * (self.mapping_layers - 1) + [self.latent_dim]
            layers: list[nn.Module] = []
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
                layers.append(nn.Linear(a, b))
                if i < self.mapping_layers - 1:
                    layers.append(nn.LeakyReLU(0.2))
            self.mapping = nn.Sequential(*layers)
            self.head = build_head(self.head_name, self.target, self.latent_dim, self.init_scale, self.rank, bool(film_scale))

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "image_size": list(self.image_size)}

    def extra_repr(self) -> str:
        return config_repr(self)

    def example_inputs(self, batch: int = 2, *, seed: int = 0) -> tuple[Any, ...]:
        """Gaussian noise ``(batch, noise_dim)`` (the argument of ``forward``)."""
        return (self.noise(batch, seed=seed),)

    def noise(self, n: int, seed: int | torch.Generator = 0) -> Tensor:
        """Standard Gaussian noise ``(n, noise_dim)`` on the model's device and dtype."""
        n = check_positive_int("n", n)
        ref = self._ref()
        return torch.randn(n, self.noise_dim, generator=_generator(seed), dtype=ref.dtype).to(ref.device)

    def _check_noise(self, noise: Any) -> Tensor:
        noise = check_float_tensor("noise", noise)
        if noise.dim() != 2 or noise.shape[1] != self.noise_dim:
            raise ShapeError(f"noise must have shape (B, {self.noise_dim}), got {tuple(noise.shape)}")
        return noise

    def map(self, noise: Tensor) -> Tensor:
        """Codes ``(B, latent_dim)`` of noise ``(B, noise_dim)`` (normalised to unit mean square first)."""
        noise = self._check_noise(noise)
        noise = noise * torch.rsqrt(noise.square().mean(dim=1, keepdim=True) + 1e-8)
        return self.mapping(noise)

    def generate(self, noise: Tensor, shape: Sequence[int] | None = None, *, clamp: bool = True) -> Tensor:
        """Render the samples of ``noise`` at any resolution: ``(B, C, H', W')`` in [0, 1]."""
        return self.decode(self.map(noise), shape, clamp=clamp)

    def forward(self, noise: Tensor) -> Tensor:
        """Samples at ``image_size``: noise ``(B, noise_dim)`` -> images ``(B, C, H, W)`` in [0, 1]."""
        return self.generate(noise)

    @torch.no_grad()
    def sample(self, n: int, seed: int | torch.Generator = 0, shape: Sequence[int] | None = None) -> Tensor:
        """``n`` images from fresh noise (no gradients): ``(n, C, H', W')`` in [0, 1]."""
        return self.generate(self.noise(n, seed), shape)

    @torch.no_grad()
    def export(self, noise: Tensor, index: int = 0) -> Siren:
        """Sample ``index`` of ``noise`` as an ordinary :class:`~neuralfields.Siren` (a copy)."""
        return self.export_code(self.map(noise), index)
