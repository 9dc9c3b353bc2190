"""Fit a prior over codes (:mod:`neuralfields.generators.code_priors`): :func:`fit_code_prior`, its
initialisation and, for a prior with trainable parameters, maximum likelihood on the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from .._checks import check_positive_int, check_seed
from .._loop import run
from .._task import StepInfo, StepOutput, Task
from ..errors import DTypeError
from ..generators.code_priors import CodePrior
from ..grid import RandomBatches
from .history import History, TrainResult

__all__ = ["fit_code_prior", "CodePriorFit"]


@dataclass
class CodePriorFit(TrainResult):
    """What :func:`fit_code_prior` returns.

    Attributes:
        history: per step the batch's negative log-likelihood per code (empty for a closed-form prior).
        nll: the mean negative log-likelihood of the codes under the fitted prior.
        stopped_early: a callback stopped the run before ``steps``.

    Example:
        Two tight clusters: a mixture of two Gaussians explains them better than one Gaussian.

        >>> from neuralfields.generators import Gaussian, GaussianMixture
        >>> g = torch.Generator().manual_seed(0)
        >>> codes = torch.cat([0.1 * torch.randn(50, 2, generator=g) - 1.0, 0.1 * torch.randn(50, 2, generator=g) + 1.0])
        >>> mixture, single = fit_code_prior(GaussianMixture(2, components=2), codes), fit_code_prior(Gaussian(2), codes)
        >>> mixture.steps, mixture.nll < 0.0 < single.nll  # closed form (EM): no likelihood steps
        (0, True)
    """

    nll: float = 0.0


class _LikelihoodTask(Task):
    def __init__(self, prior: CodePrior, codes: Tensor, batch_size: int, seed: int) -> None:
        self.model, self.codes = prior, codes
        self.batches = RandomBatches(codes.shape[0], batch_size, seed=seed)

    def step(self, step: int, lr: float) -> StepOutput:
        nll = -self.model.log_prob(self.codes[self.batches.batch(step)]).mean()
        nll.backward()
        return StepOutput(float(nll.detach()))


def fit_code_prior(
    prior: CodePrior,
    codes: Tensor,
    *,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    progress: bool = True,
) -> CodePriorFit:
    """Fit ``prior`` (in place) to codes ``(N, dim)``: :meth:`~neuralfields.generators.CodePrior.initialize`,
    then, if it has trainable parameters, ``steps`` Adam steps (cosine schedule) on the negative
    log-likelihood of batches of codes.

    Args:
        prior: the prior.
        codes: ``(N, dim)`` (detached), ``N >= 2``.
        steps: likelihood steps of a trainable prior (ignored by the closed-form ones).
        batch_size: codes per step.
        lr: Adam's initial learning rate.
        seed: seed of the batch order.
        callbacks: called after each step.
        progress: progress bar (only when stderr is a terminal).

    Example:
        >>> from neuralfields.generators import CouplingFlow, Gaussian
        >>> codes = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
        >>> fit_code_prior(Gaussian(2), codes).steps
        0
        >>> fit = fit_code_prior(CouplingFlow(2, layers=2, width=8), codes, steps=20, progress=False)
        >>> fit.steps, fit.nll < 3.0
        (20, True)
    """
    if not isinstance(prior, CodePrior):
        raise DTypeError(f"fit_code_prior needs a CodePrior, got {type(prior).__name__}")
    codes = prior.check_codes(codes, fitting=True).detach()
    prior.initialize(codes)
    history, stopped = History(), False
    if any(p.requires_grad for p in prior.parameters()):
        task = _LikelihoodTask(prior, codes, check_positive_int("batch_size", batch_size), check_seed(seed))
        out = run(task, steps=check_positive_int("steps", steps), lr=lr, schedule="cosine", callbacks=callbacks,
                  progress=progress, desc="fit_code_prior")  # fmt: skip
        history, stopped = out.history, out.stopped_early
    with torch.no_grad():
        nll = float(-prior.log_prob(codes).mean())
    return CodePriorFit(history, stopped, nll=nll)
