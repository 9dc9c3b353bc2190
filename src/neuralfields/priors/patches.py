"""Patch priors: an autoencoder trained on small patches (e.g. 8x8) of natural images, applied to an image of
any size through overlapping patches, all of them in one batched pass."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._checks import check_images
from .._registry import register
from ..errors import ConfigError, ShapeError
from ._dense import affine_chain, run_chain
from .autoencoder import AutoEncoder

__all__ = ["PatchAutoEncoder", "extract_patches", "patch_positions"]


def patch_positions(length: int, patch: int, stride: int) -> list[int]:
    """Start offsets of patches of ``patch`` pixels every ``stride`` along an axis of ``length`` pixels; the
    last patch is moved to end at the border, so every pixel is covered.

    Example:
        >>> patch_positions(10, 4, 4), patch_positions(8, 4, 2), patch_positions(4, 4, 2)
        ([0, 4, 6], [0, 2, 4], [0])
    """
    if length < patch:
        raise ShapeError(f"an axis of {length} pixels is smaller than one patch of {patch}")
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def extract_patches(images: Tensor, patch: int, stride: int) -> Tensor:
    """All overlapping patches of a batch: ``(B, C, H, W) -> (B, P, C, patch, patch)``.

    Patches start every ``stride`` pixels (see :func:`patch_positions`), in row-major order. The result is
    a gather from a strided view, differentiable in ``images``.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> p = extract_patches(x, 2, 2)
        >>> p.shape, p[0, 1, 0].tolist()
        (torch.Size([1, 4, 1, 2, 2]), [[2.0, 3.0], [6.0, 7.0]])
    """
    b, c, h, w = images.shape
    ys = torch.tensor(patch_positions(h, patch, stride), device=images.device)
    xs = torch.tensor(patch_positions(w, patch, stride), device=images.device)
    windows = images.unfold(2, patch, 1).unfold(3, patch, 1)  # (B, C, H-p+1, W-p+1, p, p), a view
    picked = windows[:, :, ys][:, :, :, xs]  # (B, C, ny, nx, p, p)
    return picked.permute(0, 2, 3, 1, 4, 5).reshape(b, ys.numel() * xs.numel(), c, patch, patch)


@register("prior", "patch-autoencoder", example={"patch_size": 8, "stride": 4, "latent_dim": 2, "width": 4, "seed": 0})
class PatchAutoEncoder(AutoEncoder):
    """An :class:`AutoEncoder` of ``patch_size`` x ``patch_size`` patches whose energy takes images of any
    size at least one patch large.

    ``energy(x)`` is the sum over all overlapping patches (every ``stride`` pixels, the last row and column
    of patches at the border) of the patch energy ``||AE(p) - p|| / T``, computed as one batched pass.
    A sum rather than a mean keeps the prior's weight ``lam`` on the same scale as the data term
    ``||A x - y||^2 / (2 sigma^2)``, which also grows with the number of pixels: a ``lam`` that suits a 64x64
    image suits a 256x256 one. On 64x64 grey crops of camera, astronaut and coffee
    (``benchmarks/restoration.py``, 8x8 patches, latent 16), ``lam="auto"`` chose about 18 to 27 for the
    plain prior and 11 to 19 for the moment-matched one at Gaussian noise of sigma 0.05 to 0.2; the weight
    relative to the unnormalised squared error, ``lam * sigma^2``, grows with the noise.

    Train it with :func:`~neuralfields.training.train_autoencoder` on patches (e.g.
    ``neuralfields.data.load_dataset("patches", size=8)``): :meth:`encode`, :meth:`decode` and ``forward``
    take patches ``(B, C, patch_size, patch_size)``.

    Args:
        patch_size: side of the patches (divisible by 4).
        stride: pixels between patch starts in the energy (default ``patch_size // 2``).
        channels, latent_dim, width, temperature, seed: as for :class:`AutoEncoder`.

    Example:
        >>> ae = PatchAutoEncoder(patch_size=8, latent_dim=4, width=4, seed=0)
        >>> ae.energy(torch.rand(2, 1, 20, 13)).shape  # any size at least 8x8
        torch.Size([2])
        >>> ae(torch.rand(5, 1, 8, 8)).shape, ae.patch_energies(torch.rand(1, 1, 16, 16)).shape
        (torch.Size([5, 1, 8, 8]), torch.Size([1, 9]))
    """

    def __init__(
        self,
        patch_size: int = 8,
        stride: int | None = None,
        channels: int = 1,
        latent_dim: int = 8,
        width: int = 16,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> None:
        if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 4 or patch_size % 4:
            raise ConfigError(f"patch_size must be a positive int divisible by 4, got {patch_size!r}")
        stride = patch_size // 2 if stride is None else stride
        if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= patch_size:
            raise ConfigError(f"stride must be an int from 1 to patch_size ({patch_size}), got {stride!r}")
        super().__init__((patch_size, patch_size), channels, latent_dim, width, temperature, seed)
        self.patch_size, self.stride = patch_size, stride
        self._chains: tuple[list[Any], list[Any]] | None = None
        self._caching = False

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "stride": self.stride}

    def check_any_size(self, x: Any, what: str = "images") -> Tensor:
        """``x`` if it is a batch ``(B, C, H, W)`` of this prior's channels with ``H, W >= patch_size``.

        Raises:
            DTypeError: not a floating-point tensor.
            ShapeError: not 4-D, other channels than the prior was trained on, or smaller than a patch.
        """
        x = check_images(x, what, owner=type(self).__name__)
        if x.shape[1] != self.channels:
            raise ShapeError(
                f"{type(self).__name__} was trained on patches with {self.channels} channel(s), but {what} have "
                f"{x.shape[1]}: {tuple(x.shape)}. Convert the images (e.g. load_image(..., channels={self.channels})) or "
                f"train a prior on {x.shape[1]}-channel patches (load_dataset('patches', channels={x.shape[1]}))."
            )  # fmt: skip
        if min(x.shape[-2:]) < self.patch_size:
            raise ShapeError(
                f"{type(self).__name__} works on patches of {self.patch_size}x{self.patch_size}, so {what} must be at "
                f"least that large; got {tuple(x.shape[-2:])}. Use a prior with a smaller patch_size or a larger image."
            )
        return x

    def _solve_cache(self, on: bool) -> None:
        """Called by the solvers around a solve, whose weights stay frozen: keep the matrix products of
        :meth:`_dense` for its length (and drop them after, so later changes of the weights count)."""
        self._caching, self._chains = bool(on), None

    def _dense(self) -> tuple[list[Any], list[Any]]:
        """The encoder and decoder as matrix products (see :func:`~neuralfields.priors._dense.affine_chain`);
        built once per solve (see :meth:`_solve_cache`), otherwise at every call."""
        if self._caching and self._chains is not None:
            return self._chains
        c, s = self.channels, self.patch_size
        enc, dec = affine_chain(self.encoder, (c, s, s)), affine_chain(self.decoder, (self.latent_dim,))
        if self._caching:
            self._chains = (enc, dec)
        return enc, dec

    def patch_energies(self, x: Tensor) -> Tensor:
        """Energy of every patch: ``(B, C, H, W) -> (B, P)`` (patches in :func:`extract_patches` order).

        All patches go through the autoencoder in one batch, its layers rewritten as matrix products
        (equal to ``forward`` up to rounding, several times faster on a CPU for patches this small)."""
        x = self.check_any_size(x)
        patches = extract_patches(x, self.patch_size, self.stride)
        b, p = patches.shape[:2]
        flat = patches.reshape(b * p, -1)
        enc, dec = self._dense()
        residual = torch.sigmoid(run_chain(dec, torch.sigmoid(run_chain(enc, flat)))) - flat
        return (torch.linalg.vector_norm(residual, dim=1) / self.temperature).reshape(b, p)

    def energy(self, x: Tensor) -> Tensor:
        """The sum of the patch energies per image ``(B,)`` (differentiable in ``x``)."""
        return self.patch_energies(x).sum(1)
