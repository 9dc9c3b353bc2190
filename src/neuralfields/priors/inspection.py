"""Latent inspection: out-of-distribution probes and where an autoencoder puts them.

A prior is only as good as its behaviour off the data: :func:`ood_probes` builds images that are *not*
like the training set (a constant image, constant plus noise, a negative, a flipped image, an image of
another domain) and :func:`probe_report` measures where the encoder puts them relative to the training
latents, and how far ``AE(probe)`` is from the probe (the prior energy).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .._metrics import psnr_from_mse
from ..errors import ShapeError
from .autoencoder import AutoEncoder

__all__ = ["ood_probes", "probe_report", "ProbeResult"]


def ood_probes(images: Tensor, other: Tensor | None = None, seed: int = 0) -> dict[str, Tensor]:
    """Out-of-distribution probes shaped like ``images`` ``(N, C, H, W)``, each ``(C, H, W)`` in [0, 1].

    Args:
        images: in-distribution images (the first one is negated and flipped).
        other: an image of another domain, resized to ``(H, W)`` by the caller; if ``None``, a synthetic
            pattern (stripes and a disc) is used.
        seed: seed of the noise.

    Returns:
        Dict name -> probe: ``"in-distribution"`` (the first image, for reference), ``"constant"`` (the
        mean value everywhere), ``"constant+noise"`` (plus Gaussian noise of std 0.2), ``"negative"``
        (``1 - x``), ``"flipped"`` (upside down), ``"other-domain"``.

    Example:
        >>> probes = ood_probes(torch.rand(4, 1, 8, 8))
        >>> sorted(probes)[:3], probes["constant"].shape
        (['constant', 'constant+noise', 'flipped'], torch.Size([1, 8, 8]))
    """
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[0] < 1:
        raise ShapeError(f"images must be a non-empty tensor (N, C, H, W), got {getattr(images, 'shape', images)}")
    c, h, w = images.shape[1:]
    first = images[0]
    mean = float(images.mean())
    gen = torch.Generator().manual_seed(seed)
    noise = 0.2 * torch.randn((c, h, w), generator=gen)
    if other is None:
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        pattern = 0.5 + 0.4 * torch.sin(9.0 * (xx + 0.5 * yy))
        pattern = torch.where(xx**2 + yy**2 < 0.3, torch.full_like(pattern, 0.05), pattern)
        other = pattern.expand(c, h, w)
    if tuple(other.shape) != (c, h, w):
        raise ShapeError(f"the other-domain image must be ({c}, {h}, {w}), got {tuple(other.shape)}")
    return {
        "in-distribution": first.clone(),
        "constant": torch.full((c, h, w), mean),
        "constant+noise": (mean + noise).clamp(0, 1),
        "negative": 1.0 - first,
        "flipped": first.flip(-2),
        "other-domain": other.clone().clamp(0, 1),
    }


@dataclass
class ProbeResult:
    """Where one probe lands.

    Attributes:
        name: the probe's name.
        latent: its latent ``(D,)``.
        energy: the prior energy ``||AE(x) - x|| / T``.
        reconstruction_psnr: PSNR of ``AE(x)`` against ``x`` (dB).
        nearest_distance: euclidean distance from its latent to the nearest training latent.
        distance_percentile: the share (0-100) of training latents whose own nearest-neighbour distance is
            smaller: near 100 means the probe lies farther out than almost all the data.
        reconstruction: ``AE(x)`` ``(C, H, W)``.

    Example:
        >>> ae = AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)
        >>> train = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> result = probe_report(ae, {"a training image": train[0]}, train)[0]
        >>> result.latent.shape, result.reconstruction.shape, result.nearest_distance  # it is a training latent
        (torch.Size([2]), torch.Size([1, 8, 8]), 0.0)
        >>> sorted(result.row())
        ['distance_percentile', 'energy', 'latent', 'nearest_distance', 'probe', 'reconstruction_psnr']
    """

    name: str
    latent: Tensor
    energy: float
    reconstruction_psnr: float
    nearest_distance: float
    distance_percentile: float
    reconstruction: Tensor

    def row(self) -> dict[str, object]:
        """A JSON-friendly summary (without the tensors' pixels)."""
        return {
            "probe": self.name,
            "energy": round(self.energy, 4),
            "reconstruction_psnr": round(self.reconstruction_psnr, 2),
            "nearest_distance": round(self.nearest_distance, 4),
            "distance_percentile": round(self.distance_percentile, 1),
            "latent": [round(float(v), 4) for v in self.latent],
        }


@torch.no_grad()
def probe_report(model: AutoEncoder, probes: dict[str, Tensor], train_images: Tensor) -> list[ProbeResult]:
    """Encode probes and compare them with the training images' latents.

    Args:
        model: the autoencoder.
        probes: name -> image ``(C, H, W)`` (e.g. from :func:`ood_probes`).
        train_images: the images the model was trained on ``(N, C, H, W)``, ``N >= 2``.

    Returns:
        One :class:`ProbeResult` per probe, in the order given.

    Example:
        >>> ae = AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)
        >>> train = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> report = probe_report(ae, ood_probes(train), train)
        >>> [r.name for r in report][:3], report[0].nearest_distance  # the first probe is training image 0
        (['in-distribution', 'constant', 'constant+noise'], 0.0)
        >>> all(0.0 <= r.distance_percentile <= 100.0 and r.energy >= 0.0 for r in report)
        True
    """
    if train_images.shape[0] < 2:
        raise ShapeError("probe_report needs at least 2 training images")
    z_train = model.encode(train_images)
    d_train = torch.cdist(z_train, z_train)
    d_train.fill_diagonal_(float("inf"))
    nn_train = d_train.min(1).values
    results = []
    for name, x in probes.items():
        xb = x[None]
        z = model.encode(xb)
        rec = model.decode(z)
        mse = float(((rec - xb) ** 2).mean())
        dist = float(torch.cdist(z, z_train).min())
        results.append(
            ProbeResult(
                name=name,
                latent=z[0],
                energy=float(model.energy(xb)[0]),
                reconstruction_psnr=psnr_from_mse(mse),
                nearest_distance=dist,
                distance_percentile=100.0 * float((nn_train < dist).double().mean()),
                reconstruction=rec[0],
            )
        )
    return results
