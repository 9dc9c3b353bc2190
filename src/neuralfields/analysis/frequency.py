"""Which frequency? Pick a family's frequency setting (SIREN's ``omega_0``, Gauss's ``scale``, the Fourier
features' ``sigma``) from the signal's spectrum, before any training; and a grid search to check it.

The rule (:func:`suggest_frequency`) follows FreSh (Kania et al., "FreSh: frequency shifting for accelerated
neural representation learning", ICLR 2025): an untrained field's output already shows which frequencies
it will find easy, so choose the setting whose initial output has the spectrum closest to the signal's.
Here both spectra are radially averaged spectra of the gradient (:func:`radial_spectrum` with
``gradient=True``: DFT magnitudes times ``|k|``, the mean left out), the field's averaged over a few
initialisations, compared with the 1-Wasserstein distance between them as distributions over the radial
frequency. The gradient is our change to FreSh's plain magnitude spectrum: a natural image's magnitudes fall
like ``1/|k|``, so its plain spectrum sits in the lowest bins, and an untrained SIREN with ``omega_0`` near 3
(nearly linear in its coordinates) matches it best; measured, that choice fits ``camera`` at 256x256 to 25.6 dB
in 60 s against 36.4 dB at the default 30 (``benchmarks/RESULTS.md``). The gradient's spectrum is flat for
such an image and moves the choice to the fitting range (45 for ``camera`` at 256x256).
It costs one forward pass per candidate and seed over the whole grid: about a second for a 64x64 image or
10,000 samples, 15 to 140 s for a 256x256 image on one CPU core (less than the fit for SIREN, more for WIRE).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .. import _registry
from .._checks import check_positive_int
from ..errors import ConfigError, ShapeError
from ..grid import make_grid

__all__ = ["radial_spectrum", "spectrum_distance", "suggest_frequency", "FrequencyChoice", "frequency_candidates", "grid_search"]


def radial_spectrum(signal: Tensor, bins: int = 64, *, gradient: bool = False) -> Tensor:
    """The radially averaged magnitude spectrum of a gridded signal (or of its gradient), as a distribution over
    ``bins`` bins of the radial frequency ``|k|``.

    Each bin holds the mean DFT magnitude of the frequencies in its ring (the channels' magnitudes
    averaged); the bins are spaced logarithmically from the lowest frequency the grid holds to the Nyquist
    frequency of one axis (higher frequencies, the corners of a square spectrum, go to the last bin), so
    that a spectrum spanning decades is resolved at every scale. The zero frequency (the mean) is left out.

    Args:
        signal: ``(C, n_1, ..., n_d)``.
        bins: number of bins.
        gradient: weight each magnitude by ``|k|``: the spectrum of the signal's gradient, flat for a natural
            image whose magnitudes fall like ``1/|k|``.

    Returns:
        Non-negative weights ``(bins,)`` that sum to 1 (uniform for a constant signal).

    Example:
        >>> import math
        >>> x = torch.linspace(0, 1, 64)
        >>> low = radial_spectrum(torch.sin(2 * math.pi * 2 * x)[None], bins=8)
        >>> high = radial_spectrum(torch.sin(2 * math.pi * 24 * x)[None], bins=8)
        >>> int(low.argmax()) < int(high.argmax())
        True
    """
    if signal.dim() < 2:
        raise ShapeError(f"a signal is (C, n_1, ..., n_d), got {tuple(signal.shape)}")
    check_positive_int("bins", bins)
    spatial, dims = signal.shape[1:], tuple(range(1, signal.dim()))
    x = signal.double() - signal.double().mean(dim=dims, keepdim=True)
    magnitude = torch.fft.fftn(x, dim=dims).abs().mean(0).flatten()
    axes = torch.meshgrid(*[torch.fft.fftfreq(n, dtype=torch.float64) for n in spatial], indexing="ij")
    radius = torch.sqrt(sum(a * a for a in axes)).flatten() / 0.5  # 1 at the Nyquist frequency of one axis
    keep = radius > 0  # the zero frequency
    low = math.log(2.0 / max(spatial))  # the lowest frequency on the grid
    position = (radius[keep].clamp(max=1.0).log() - low) / max(-low, 1e-12)
    index = (position.clamp(0.0, 1.0) * (bins - 1e-9)).long()
    weights = magnitude[keep] * radius[keep] if gradient else magnitude[keep]
    total = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, weights)
    count = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, torch.ones_like(index, dtype=torch.float64))
    mean = total / count.clamp(min=1.0)
    s = mean.sum()
    return mean / s if s > 0 else torch.full((bins,), 1.0 / bins, dtype=torch.float64)


def spectrum_distance(a: Tensor, b: Tensor) -> float:
    """The 1-Wasserstein distance between two distributions over the same bins, divided by the number of bins
    (point masses on the first and the last of ``n`` bins are ``(n - 1) / n`` apart).

    Example:
        >>> spectrum_distance(torch.tensor([1.0, 0, 0, 0]), torch.tensor([0, 0, 0, 1.0]))
        0.75
    """
    if a.shape != b.shape:
        raise ShapeError(f"spectra of {tuple(a.shape)} and {tuple(b.shape)} bins cannot be compared")
    return float((a.cumsum(0) - b.cumsum(0)).abs().sum()) / a.numel()


def _parameter(family: str) -> str:
    name = getattr(_registry.get("field", family), "frequency_parameter", None)
    if not name:
        raise ConfigError(f"the {family!r} family declares no frequency parameter (frequency_parameter); pass the setting yourself")
    return str(name)


def _build(family: str, signal: Tensor, parameter: str, value: float, seed: int, field_kwargs: dict[str, Any]) -> Any:
    """The family's field for ``signal`` with ``parameter = value``."""
    return _registry.create("field", family, in_features=signal.dim() - 1, out_features=signal.shape[0],
                            **{parameter: value, "seed": seed, **field_kwargs})  # fmt: skip


def frequency_candidates(family: str, shape: Sequence[int]) -> list[float]:
    """The default candidates for a signal of spatial ``shape``: a geometric series (ratio ``sqrt(2)``) from 1 up
    to the Nyquist frequency of the longest axis on the field's [-1, 1] coordinates (``pi n / 2`` in angular
    units for ``omega_0`` and ``scale``, ``n / 4`` cycles per unit for ``sigma``).

    Example:
        >>> frequency_candidates("siren", (8, 8))  # up to pi * 8 / 2
        [1.0, 1.4142, 2.0, 2.8284, 4.0, 5.6569, 8.0, 11.3137]
    """
    n = max(shape)
    top = n / 4 if _parameter(family) == "sigma" else math.pi * n / 2
    count = max(1, int(math.floor(2 * math.log2(max(top, 1.0)))) + 1)
    return [round(2 ** (k / 2), 4) for k in range(count)]


@dataclass
class FrequencyChoice:
    """What :func:`suggest_frequency` found.

    Attributes:
        family: the field family.
        parameter: the constructor argument it sets (e.g. ``"first_omega_0"``).
        value: the suggested value.
        candidates: the values tried, in order; distances: each one's spectrum distance to the signal.

    Example:
        >>> choice = FrequencyChoice("siren", "first_omega_0", 12.0, [6.0, 12.0, 24.0], [0.3, 0.1, 0.2])
        >>> choice.config
        {'first_omega_0': 12.0}
    """

    family: str
    parameter: str
    value: float
    candidates: list[float] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)

    @property
    def config(self) -> dict[str, float]:
        """``{parameter: value}``, to pass to the family's constructor."""
        return {self.parameter: self.value}


@torch.no_grad()
def suggest_frequency(signal: Tensor, family: str = "siren", *, candidates: Sequence[float] | None = None, seeds: int = 3,
                      bins: int = 64, **field_kwargs: Any) -> FrequencyChoice:  # fmt: skip
    """The frequency setting of ``family`` whose untrained output has the gradient spectrum closest to ``signal``'s.

    Args:
        signal: a gridded signal ``(C, n_1, ..., n_d)`` (an image ``(C, H, W)``, audio ``(1, T)``, a volume
            ``(1, D, H, W)``), any value range.
        family: a registered field family that declares ``frequency_parameter``.
        candidates: values to try (default: :func:`frequency_candidates`).
        seeds: initialisations averaged per candidate.
        bins: radial frequency bins of the spectra.
        field_kwargs: other constructor arguments of the family (e.g. ``hidden_features``).

    Returns:
        A :class:`FrequencyChoice`; ``nf.create("field", family, **choice.config, ...)`` builds the field.

    Example:
        >>> import neuralfields as nf
        >>> choice = nf.suggest_frequency(nf.data.load_image("camera", size=32), hidden_features=32, seeds=1)
        >>> choice.parameter, choice.value in choice.candidates
        ('first_omega_0', True)
    """
    if signal.dim() < 2:
        raise ShapeError(f"a signal is (C, n_1, ..., n_d), got {tuple(signal.shape)}")
    if "seed" in field_kwargs:
        raise ConfigError("suggest_frequency draws its own initialisations (seeds 0 .. seeds - 1); leave out seed")
    parameter, shape = _parameter(family), tuple(signal.shape[1:])
    if parameter in field_kwargs:
        raise ConfigError(f"suggest_frequency chooses {parameter}; leave it out of the field's arguments")
    values = list(candidates) if candidates is not None else frequency_candidates(family, shape)
    if not values or any(not v > 0 for v in values):
        raise ConfigError(f"frequency candidates must be positive, got {values}")
    target = radial_spectrum(signal, bins, gradient=True)
    coords = make_grid(shape)
    distances = []
    for value in values:
        spectra = []
        for seed in range(check_positive_int("seeds", seeds)):
            f = _build(family, signal, parameter, value, seed, field_kwargs)
            out = f(coords.reshape(-1, len(shape))).reshape(*shape, -1).movedim(-1, 0)
            spectra.append(radial_spectrum(out, bins, gradient=True))
        distances.append(spectrum_distance(torch.stack(spectra).mean(0), target))
    best = min(range(len(values)), key=distances.__getitem__)
    return FrequencyChoice(family, parameter, float(values[best]), [float(v) for v in values], distances)


def grid_search(signal: Tensor, family: str = "siren", values: Sequence[float] | None = None, *, steps: int = 300,
                seed: int = 0, fit_kwargs: dict[str, Any] | None = None, **field_kwargs: Any) -> dict[str, Any]:  # fmt: skip
    """Fit ``family`` once per frequency value and report the PSNR each reaches after ``steps`` steps.

    The brute-force check of :func:`suggest_frequency`: it trains a field per value (``values`` default to
    :func:`frequency_candidates`).

    Returns:
        ``{"parameter", "values", "psnr", "best"}`` (``best``: the value with the highest PSNR).

    Example:
        >>> import neuralfields as nf
        >>> out = nf.analysis.grid_search(nf.data.load_image("camera", size=16), values=[10.0, 30.0], steps=20,
        ...                               hidden_features=16)
        >>> out["parameter"], len(out["psnr"])
        ('first_omega_0', 2)
    """
    from ..training import fit

    parameter, shape = _parameter(family), tuple(signal.shape[1:])
    values = list(values) if values is not None else frequency_candidates(family, shape)
    psnr = []
    for value in values:
        f = _build(family, signal, parameter, value, seed, field_kwargs)
        psnr.append(fit(f, signal, steps=steps, seed=seed, progress=False, **(fit_kwargs or {})).psnr)
    best = max(range(len(values)), key=psnr.__getitem__)
    return {"parameter": parameter, "values": [float(v) for v in values], "psnr": psnr, "best": float(values[best])}
