"""The contract of kind ``"code-prior"``: what every :class:`~neuralfields.generators.CodePrior` does.

Codes are ``(N, dim)`` of the prior's ``dim``; the checks fit with
:func:`neuralfields.training.fit_code_prior` (300 likelihood steps for a trainable prior) on seeded
correlated Gaussian codes.

======================  ===========================================================================
``base``                derives from ``CodePrior``
``config``              JSON config; ``create(**config)`` rebuilds it
``samples``             after fitting, ``sample(n)`` is a finite ``(n, dim)`` tensor, ``log_prob`` a finite ``(N,)``
``moments``             the samples' mean and covariance match the codes' (mean within 0.15 standard
                        deviations, covariance within 25% in Frobenius norm)
``likelihood``          the codes are more likely than the same codes moved 5 standard deviations away
``seeded``              the same seed draws the same codes, another seed others; the global RNG is untouched
``bad_input``           integer codes raise ``DTypeError``, codes of another size ``ShapeError``, fitting one
                        code ``InvalidDataError``
``save_load``           :func:`neuralfields.save` / :func:`neuralfields.load` of a fitted prior draws the same codes
======================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..errors import DTypeError, InvalidDataError, ShapeError
from ._common import Suite, assert_close, assert_finite, check_base, check_config, expect_raises, save_load

__all__ = ["check_code_prior", "CODE_PRIOR_SUITE", "gaussian_codes"]

MakeCodePrior = Callable[[], Any]


def gaussian_codes(dim: int, n: int = 600, *, seed: int = 0) -> Tensor:
    """Seeded correlated Gaussian codes ``(n, dim)`` with means of different signs and scales from 0.5 to 2."""
    gen = torch.Generator().manual_seed(seed)
    mix = torch.eye(dim) + 0.5 * torch.randn(dim, dim, generator=gen) / dim**0.5
    scales = torch.linspace(0.5, 2.0, dim)
    means = torch.linspace(-1.0, 1.0, dim)
    return (torch.randn(n, dim, generator=gen) @ mix) * scales + means


def _fitted(make: MakeCodePrior) -> tuple[Any, Tensor]:
    from ..training.code_prior import fit_code_prior

    prior = make()
    codes = gaussian_codes(prior.dim)
    fit_code_prior(prior, codes, steps=300, batch_size=200, lr=3e-3, progress=False)
    return prior, codes


def _base(make: MakeCodePrior) -> None:
    check_base(make(), "code-prior")


def _config(make: MakeCodePrior) -> None:
    check_config(make(), "code-prior")


def _samples(make: MakeCodePrior) -> None:
    prior, codes = _fitted(make)
    drawn = prior.sample(50, seed=0)
    assert isinstance(drawn, Tensor) and tuple(drawn.shape) == (50, prior.dim), f"sample(50) gave {getattr(drawn, 'shape', drawn)}"
    assert drawn.dtype == codes.dtype, f"samples are {drawn.dtype}, the codes {codes.dtype}"
    assert_finite(drawn, "the samples")
    logp = prior.log_prob(codes)
    assert tuple(logp.shape) == (codes.shape[0],), f"log_prob of {codes.shape[0]} codes gave {tuple(logp.shape)}"
    assert_finite(logp, "log_prob of the codes")


def _moments(make: MakeCodePrior) -> None:
    prior, codes = _fitted(make)
    with torch.no_grad():
        drawn = prior.sample(4000, seed=1).double()
    data = codes.double()
    std = data.std(0)
    off = ((drawn.mean(0) - data.mean(0)).abs() / std).max()
    assert off < 0.15, f"the samples' mean is {float(off):.3f} standard deviations from the codes' (allowed 0.15)"
    cov_d, cov_s = torch.cov(data.T).reshape(prior.dim, -1), torch.cov(drawn.T).reshape(prior.dim, -1)
    rel = torch.linalg.norm(cov_s - cov_d) / torch.linalg.norm(cov_d)
    assert rel < 0.25, f"the samples' covariance is {float(rel):.3f} (relative, Frobenius) from the codes' (allowed 0.25)"


def _likelihood(make: MakeCodePrior) -> None:
    prior, codes = _fitted(make)
    with torch.no_grad():
        here, away = prior.log_prob(codes).mean(), prior.log_prob(codes + 5.0 * codes.std(0)).mean()
    assert here > away, f"the codes' mean log-density {float(here):.3f} is not above that of codes moved away ({float(away):.3f})"


def _seeded(make: MakeCodePrior) -> None:
    prior, _ = _fitted(make)
    state = torch.get_rng_state()
    with torch.no_grad():
        a, b, c = prior.sample(20, seed=3), prior.sample(20, seed=3), prior.sample(20, seed=4)
    assert torch.equal(torch.get_rng_state(), state), "sample drew from torch's global RNG"
    assert torch.equal(a, b), "the same seed drew different codes"
    assert not torch.equal(a, c), "two seeds drew the same codes"


def _bad_input(make: MakeCodePrior) -> None:
    from ..training.code_prior import fit_code_prior

    prior = make()
    d = prior.dim
    expect_raises(DTypeError, "integer codes", lambda: prior.log_prob(torch.zeros(3, d, dtype=torch.long)))
    expect_raises(ShapeError, f"codes of size {d + 1}", lambda: prior.log_prob(torch.zeros(3, d + 1)))
    expect_raises(InvalidDataError, "fitting one code", lambda: fit_code_prior(make(), torch.zeros(1, d), progress=False))


def _save_load(make: MakeCodePrior) -> None:
    prior, _ = _fitted(make)
    back = save_load(prior)
    with torch.no_grad():
        assert_close(back.sample(10, seed=5), prior.sample(10, seed=5), "samples after save/load", atol=1e-6, rtol=0)


CODE_PRIOR_SUITE = Suite(
    "code-prior",
    {
        "base": _base,
        "config": _config,
        "samples": _samples,
        "moments": _moments,
        "likelihood": _likelihood,
        "seeded": _seeded,
        "bad_input": _bad_input,
        "save_load": _save_load,
    },
)
"""The checks of kind ``"code-prior"``, in order (see the module docs)."""


def check_code_prior(make: MakeCodePrior, *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Run the code-prior contract on priors built by ``make`` (called once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.generators import Gaussian
        >>> from neuralfields.testing import check_code_prior
        >>> check_code_prior(lambda: Gaussian(3))
    """
    CODE_PRIOR_SUITE.run(make, only=only, skip=skip)

