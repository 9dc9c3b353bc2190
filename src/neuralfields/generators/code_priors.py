"""Priors over codes: simple generative models of the codes of a trained model (a
:class:`~neuralfields.HyperSiren`'s latents, a :class:`~neuralfields.Latent` conditioning's codes), so that new
codes, and so new fields, can be drawn: the cheap alternative to adversarial training.

A registry kind (``"code-prior"``): subclass :class:`CodePrior`, implement :meth:`~CodePrior.log_prob`,
:meth:`~CodePrior.sample` and optionally :meth:`~CodePrior.initialize`, and register it. Fitting is
:func:`neuralfields.training.fit_code_prior`: ``initialize`` on the codes (the closed-form or EM estimate
for :class:`Gaussian` and :class:`GaussianMixture`), then maximum likelihood on the engine for a prior with
trainable parameters (:class:`~neuralfields.generators.flow.CouplingFlow`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_float_tensor, check_positive_float, check_positive_int, check_seed, generator as _generator
from .._config import Configurable
from .._registry import config_repr, register
from ..errors import InvalidDataError, ShapeError

__all__ = ["CodePrior", "Gaussian", "GaussianMixture"]

_LOG_2PI = math.log(2.0 * math.pi)


class CodePrior(Configurable, nn.Module):
    """Base class of the priors over codes ``(D,)`` (kind ``"code-prior"``).

    Args:
        dim: the codes' size ``D``.

    Example:
        A standard normal that learns nothing from the codes:

        >>> class StandardNormal(CodePrior):
        ...     def log_prob(self, codes):
        ...         codes = self.check_codes(codes)
        ...         return -0.5 * (codes.square().sum(1) + self.dim * math.log(2 * math.pi))
        ...     def sample(self, n, seed=0):
        ...         return torch.randn(n, self.dim, generator=torch.Generator().manual_seed(seed))
        >>> p = StandardNormal(3)
        >>> p.sample(4).shape, p.log_prob(torch.zeros(2, 3)).shape
        (torch.Size([4, 3]), torch.Size([2]))
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)

    def extra_repr(self) -> str:
        return config_repr(self)

    def check_codes(self, codes: Any, *, fitting: bool = False) -> Tensor:
        """Validate codes ``(N, dim)`` (finite; at least 2 when ``fitting``) and return them."""
        codes = check_float_tensor("codes", codes)
        if codes.dim() != 2 or codes.shape[1] != self.dim:
            raise ShapeError(f"codes must have shape (N, {self.dim}), got {tuple(codes.shape)}")
        if fitting and codes.shape[0] < 2:
            raise InvalidDataError(f"fitting a prior over codes needs at least 2 codes, got {codes.shape[0]}")
        if not bool(torch.isfinite(codes).all()):
            raise InvalidDataError("codes contain NaN or infinite values")
        return codes

    def initialize(self, codes: Tensor) -> None:
        """Set data-dependent values from the codes ``(N, dim)`` before any training (default: nothing)."""

    def log_prob(self, codes: Tensor) -> Tensor:
        """Log-density of each code: ``(N, dim) -> (N,)`` (differentiable in the prior's parameters)."""
        raise NotImplementedError(f"{type(self).__name__} must implement log_prob(codes)")

    def sample(self, n: int, seed: int | torch.Generator = 0) -> Tensor:
        """``n`` codes ``(n, dim)`` drawn with ``seed`` (the global RNG is not used)."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample(n, seed)")


def _cholesky(cov: Tensor, floor: float) -> Tensor:
    """The Cholesky factor of ``cov (..., D, D)`` + ``floor`` times the mean variance on the diagonal."""
    d = cov.shape[-1]
    scale = torch.diagonal(cov, dim1=-2, dim2=-1).mean(-1).clamp_min(1e-12)
    eye = torch.eye(d, dtype=cov.dtype, device=cov.device)
    return torch.linalg.cholesky(cov + floor * scale[..., None, None] * eye)


def _gaussian_log_prob(codes: Tensor, mean: Tensor, chol: Tensor) -> Tensor:
    """``log N(codes; mean, chol chol^T)`` for codes ``(N, D)``, mean ``(..., D)``, chol ``(..., D, D)``: ``(N, ...)``."""
    diff = codes.reshape(codes.shape[0], *([1] * (mean.dim() - 1)), -1) - mean  # (N, ..., D)
    sol = torch.linalg.solve_triangular(chol.expand(*diff.shape[:-1], *chol.shape[-2:]), diff[..., None], upper=False)
    half_logdet = torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return -0.5 * (sol.squeeze(-1).square().sum(-1) + mean.shape[-1] * _LOG_2PI) - half_logdet


@register("code-prior", "gaussian", example={"dim": 3})
class Gaussian(CodePrior):
    """One Gaussian with a full covariance, fitted in closed form (:meth:`initialize`).

    Args:
        dim: the codes' size.
        floor: added to the covariance's diagonal, as a fraction of the mean variance.

    Example:
        >>> codes = torch.randn(20000, 2, generator=torch.Generator().manual_seed(0)) * 2.0 + 1.0
        >>> p = Gaussian(2)
        >>> p.initialize(codes)
        >>> [round(v, 1) for v in p.mean.tolist()], p.sample(3, seed=0).shape
        ([1.0, 1.0], torch.Size([3, 2]))
    """

    def __init__(self, dim: int, floor: float = 1e-4) -> None:
        super().__init__(dim)
        self.floor = check_positive_float("floor", floor)
        self.register_buffer("mean", torch.zeros(self.dim))
        self.register_buffer("chol", torch.eye(self.dim))

    @torch.no_grad()
    def initialize(self, codes: Tensor) -> None:
        codes = self.check_codes(codes, fitting=True).to(self.mean)
        self.mean.copy_(codes.mean(0))
        self.chol.copy_(_cholesky(torch.cov(codes.T).reshape(self.dim, self.dim), self.floor))

    def log_prob(self, codes: Tensor) -> Tensor:
        return _gaussian_log_prob(self.check_codes(codes).to(self.mean), self.mean, self.chol)

    def sample(self, n: int, seed: int | torch.Generator = 0) -> Tensor:
        eps = torch.randn(check_positive_int("n", n), self.dim, generator=_generator(seed), dtype=self.mean.dtype)
        return self.mean + eps.to(self.mean.device) @ self.chol.T


@register("code-prior", "gmm", example={"dim": 3, "components": 2, "seed": 0})
class GaussianMixture(CodePrior):
    """A mixture of ``components`` Gaussians with full covariances, fitted by expectation-maximisation.

    The means start at codes drawn with ``seed`` (k-means++ style: each next one far from those drawn),
    the covariances at the codes' covariance; ``em_steps`` EM iterations follow.

    Args:
        dim: the codes' size.
        components: number of Gaussians (at most the number of codes).
        em_steps: EM iterations.
        floor: added to each covariance's diagonal, as a fraction of its mean variance.
        seed: seed of the initial means.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> codes = torch.cat([torch.randn(300, 2, generator=g) - 4.0, torch.randn(300, 2, generator=g) + 4.0])
        >>> p = GaussianMixture(2, components=2, seed=0)
        >>> p.initialize(codes)
        >>> sorted(round(v) for v in p.means[:, 0].tolist()), [round(w, 1) for w in p.weights.tolist()]
        ([-4, 4], [0.5, 0.5])
    """

    def __init__(self, dim: int, components: int = 10, em_steps: int = 100, floor: float = 1e-3, seed: int = 0) -> None:
        super().__init__(dim)
        self.components = check_positive_int("components", components)
        self.em_steps = check_positive_int("em_steps", em_steps)
        self.floor = check_positive_float("floor", floor)
        self.seed = check_seed(seed)
        k = self.components
        self.register_buffer("weights", torch.full((k,), 1.0 / k))
        self.register_buffer("means", torch.zeros(k, self.dim))
        self.register_buffer("chols", torch.eye(self.dim).repeat(k, 1, 1))

    def _component_log_probs(self, codes: Tensor) -> Tensor:
        return _gaussian_log_prob(codes, self.means, self.chols) + torch.log(self.weights)  # (N, K)

    @torch.no_grad()
    def initialize(self, codes: Tensor) -> None:
        codes = self.check_codes(codes, fitting=True).to(self.means).double()
        n, k = codes.shape[0], self.components
        if k > n:
            raise InvalidDataError(f"a mixture of {k} components needs at least {k} codes, got {n}")
        gen = torch.Generator().manual_seed(self.seed)  # the initial means are drawn on the CPU
        on_cpu = codes.cpu()
        chosen = [int(torch.randint(n, (1,), generator=gen))]
        for _ in range(1, k):  # k-means++: the next mean far from the ones chosen
            dist = torch.cdist(on_cpu, on_cpu[chosen]).min(1).values.square()
            chosen.append(int(torch.multinomial(dist / dist.sum() if dist.sum() > 0 else torch.ones(n, dtype=dist.dtype), 1, generator=gen)))
        means = codes[chosen].clone()
        chols = _cholesky(torch.cov(codes.T).reshape(self.dim, self.dim), self.floor).repeat(k, 1, 1)
        weights = torch.full((k,), 1.0 / k, dtype=codes.dtype, device=codes.device)
        for _ in range(self.em_steps):
            logp = _gaussian_log_prob(codes, means, chols) + torch.log(weights)  # E: responsibilities
            resp = torch.softmax(logp, dim=1)  # (N, K)
            mass = resp.sum(0).clamp_min(1e-10)  # M: weights, means, covariances
            weights = mass / n
            means = (resp.T @ codes) / mass[:, None]
            diff = codes[:, None, :] - means  # (N, K, D)
            cov = torch.einsum("nk,nkd,nke->kde", resp, diff, diff) / mass[:, None, None]
            chols = _cholesky(cov, self.floor)
        self.weights.copy_(weights)
        self.means.copy_(means)
        self.chols.copy_(chols)

    def log_prob(self, codes: Tensor) -> Tensor:
        return torch.logsumexp(self._component_log_probs(self.check_codes(codes).to(self.means)), dim=1)

    def sample(self, n: int, seed: int | torch.Generator = 0) -> Tensor:
        gen = _generator(seed)
        n = check_positive_int("n", n)
        which = torch.multinomial(self.weights.cpu().double(), n, replacement=True, generator=gen).to(self.means.device)
        eps = torch.randn(n, self.dim, generator=gen, dtype=self.means.dtype).to(self.means.device)
        return self.means[which] + torch.einsum("nde,ne->nd", self.chols[which], eps)
