"""A small normalising flow over codes: affine coupling layers (RealNVP), trained by maximum likelihood
(:func:`neuralfields.training.fit_code_prior`)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._checks import check_positive_int, check_seed, generator as _generator
from .._registry import register
from .code_priors import CodePrior

__all__ = ["CouplingFlow"]


@register("code-prior", "flow", example={"dim": 3, "layers": 2, "width": 8, "seed": 0})
class CouplingFlow(CodePrior):
    """Codes -> standard normal through ``layers`` affine coupling layers (RealNVP).

    The codes are first standardised (each coordinate by the mean and standard deviation of the codes
    :meth:`initialize` sees). Each layer keeps alternate coordinates and moves the others by a scale
    (``exp(tanh)``) and a shift computed from the kept ones by a small MLP, whose last layer starts at
    zero: the untrained flow is the standardisation alone, a diagonal Gaussian.

    Args:
        dim: the codes' size.
        layers: coupling layers.
        width: hidden width of their MLPs.
        seed: seed of the initialisation.

    Example:
        >>> flow = CouplingFlow(2, layers=2, width=8, seed=0)
        >>> codes = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
        >>> flow.initialize(codes)
        >>> flow.log_prob(codes).shape, flow.sample(5, seed=1).shape
        (torch.Size([100]), torch.Size([5, 2]))
    """

    def __init__(self, dim: int, layers: int = 6, width: int = 64, seed: int = 0) -> None:
        super().__init__(dim)
        self.layers = check_positive_int("layers", layers)
        self.width = check_positive_int("width", width)
        self.seed = check_seed(seed)
        self.register_buffer("shift", torch.zeros(self.dim))
        self.register_buffer("scale", torch.ones(self.dim))
        masks = torch.stack([(torch.arange(self.dim) % 2 == i % 2).float() for i in range(self.layers)])
        self.register_buffer("masks", masks if self.dim > 1 else torch.zeros(self.layers, 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            nets = []
            for _ in range(self.layers):
                net = nn.Sequential(nn.Linear(self.dim, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 2 * self.dim))
                nn.init.zeros_(net[-1].weight)
                nn.init.zeros_(net[-1].bias)
                nets.append(net)
            self.nets = nn.ModuleList(nets)

    @torch.no_grad()
    def initialize(self, codes: Tensor) -> None:
        codes = self.check_codes(codes, fitting=True).to(self.shift)
        self.shift.copy_(codes.mean(0))
        self.scale.copy_(codes.std(0).clamp_min(1e-6))

    def _scale_shift(self, i: int, kept: Tensor) -> tuple[Tensor, Tensor]:
        out = self.nets[i](kept)
        free = 1.0 - self.masks[i]
        return torch.tanh(out[:, : self.dim]) * free, out[:, self.dim :] * free

    def log_prob(self, codes: Tensor) -> Tensor:
        x = (self.check_codes(codes).to(self.shift) - self.shift) / self.scale
        logdet = -torch.log(self.scale).sum().expand(x.shape[0])
        for i in range(self.layers):
            m = self.masks[i]
            log_s, t = self._scale_shift(i, x * m)
            x = x * m + (1.0 - m) * (x * torch.exp(log_s) + t)
            logdet = logdet + log_s.sum(1)
        return -0.5 * (x.square().sum(1) + self.dim * math.log(2.0 * math.pi)) + logdet

    def sample(self, n: int, seed: int | torch.Generator = 0) -> Tensor:
        z = torch.randn(check_positive_int("n", n), self.dim, generator=_generator(seed), dtype=self.shift.dtype)
        x = z.to(self.shift.device)
        with torch.no_grad():
            for i in reversed(range(self.layers)):
                m = self.masks[i]
                log_s, t = self._scale_shift(i, x * m)
                x = x * m + (1.0 - m) * ((x - t) * torch.exp(-log_s))
        return x * self.scale + self.shift
