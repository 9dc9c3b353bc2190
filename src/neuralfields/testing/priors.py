"""The contract of kind ``"prior"``: what every :class:`~neuralfields.priors.Prior` does.

Images are ``(B, C, H, W)`` in [0, 1] of the prior's :attr:`~neuralfields.priors.Prior.channels` and
:attr:`~neuralfields.priors.Prior.image_size` (1 channel and 8 x 8 where it takes any).

======================  ===========================================================================
``base``                derives from ``Prior``
``config``              JSON config; ``create(**config)`` rebuilds it
``energy``              ``energy(x)`` is a finite ``(B,)`` tensor of the images' dtype
``batched``             the energy of image ``b`` in a batch equals its energy alone
``gradients``           the energy is differentiable in ``x`` (finite, non-zero gradient)
``float64``             float64 energies; ``torch.autograd.gradcheck`` with respect to the images
``bad_input``           integer images raise ``DTypeError``; images without a batch dimension ``ShapeError``
``compile``             ``torch.compile(prior.energy)`` gives the eager values
``save_load``           :func:`neuralfields.save` / :func:`neuralfields.load` round trip, identical energies
======================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..errors import DTypeError, ShapeError
from ._common import (
    Suite,
    assert_close,
    assert_finite,
    check_base,
    check_config,
    compiled,
    expect_raises,
    save_load,
    uniform,
)

__all__ = ["check_prior", "PRIOR_SUITE"]

MakePrior = Callable[[], Any]


def images(prior: Any, batch: int = 3, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> Tensor:
    """Seeded images ``(batch, C, H, W)`` in [0, 1] that ``prior`` takes (for a patch prior, an image of
    several overlapping patches and of another height than width)."""
    channels = getattr(prior, "channels", None) or 1
    size = getattr(prior, "image_size", None) or (8, 8)
    patch = getattr(prior, "patch_size", None)
    if isinstance(patch, int):
        size = (patch + patch // 2, 2 * patch + patch // 2)
    return uniform((batch, channels, *size), low=0.0, high=1.0, seed=seed, dtype=dtype)


def _base(make: MakePrior) -> None:
    check_base(make(), "prior")


def _config(make: MakePrior) -> None:
    check_config(make(), "prior")


def _energy(make: MakePrior) -> None:
    p = make().eval()
    x = images(p)
    with torch.no_grad():
        e = p.energy(x)
    assert isinstance(e, Tensor) and tuple(e.shape) == (3,), f"energy of 3 images must be (3,), got {getattr(e, 'shape', e)}"
    assert e.dtype == x.dtype, f"energy of {x.dtype} images is {e.dtype}"
    assert_finite(e, "the energy")


def _batched(make: MakePrior) -> None:
    p = make().eval()
    x = images(p, seed=1)
    with torch.no_grad():
        e = p.energy(x)
        for b in range(x.shape[0]):
            assert_close(e[b : b + 1], p.energy(x[b : b + 1]), f"energy of image {b} in a batch vs alone")


def _gradients(make: MakePrior) -> None:
    p = make().eval()
    x = images(p, seed=2).requires_grad_(True)
    (g,) = torch.autograd.grad(p.energy(x).sum(), x)
    assert_finite(g, "the energy's gradient")
    assert bool(g.abs().sum() > 0), "the energy's gradient with respect to the images is zero"


def _float64(make: MakePrior) -> None:
    p = make().double().eval()
    x = images(p, 1, seed=3, dtype=torch.float64).requires_grad_(True)
    assert p.energy(x).dtype == torch.float64, "float64 images must give float64 energies"
    ok = torch.autograd.gradcheck(p.energy, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False)
    assert ok, "torch.autograd.gradcheck of the energy with respect to the images failed (float64)"


def _bad_input(make: MakePrior) -> None:
    p = make()
    x = images(p, 2)
    expect_raises(DTypeError, "integer images", lambda: p.energy((x * 255).long()))
    expect_raises(ShapeError, "images without a batch dimension (C, H, W)", lambda: p.energy(x[0]))


def _compile(make: MakePrior) -> None:
    p = make().eval()
    x = images(p, seed=4)

    class _Energy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.prior = p

        def forward(self, x: Tensor) -> Tensor:
            return self.prior.energy(x)

    with torch.no_grad():
        assert_close(compiled(_Energy(), fullgraph=False)(x), p.energy(x), "torch.compile(energy) vs eager")


def _save_load(make: MakePrior) -> None:
    p = make().eval()
    back = save_load(p).eval()
    x = images(p, seed=5)
    with torch.no_grad():
        assert_close(back.energy(x), p.energy(x), "energies after save/load", atol=1e-6, rtol=0)


PRIOR_SUITE = Suite(
    "prior",
    {
        "base": _base,
        "config": _config,
        "energy": _energy,
        "batched": _batched,
        "gradients": _gradients,
        "float64": _float64,
        "bad_input": _bad_input,
        "compile": _compile,
        "save_load": _save_load,
    },
)
"""The checks of kind ``"prior"``, in order (see the module docs)."""


def check_prior(
    make: MakePrior, *, only: Iterable[str] | None = None, skip: Iterable[str] = (), compile: bool = True
) -> None:
    """Run the prior contract on priors built by ``make`` (called once per check).

    Args:
        make: builds a small prior.
        only: run only these checks.
        skip: checks to leave out.
        compile: ``False`` leaves out the ``torch.compile`` check.

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.priors import TotalVariation
        >>> from neuralfields.testing import check_prior
        >>> check_prior(lambda: TotalVariation(eps=0.01), compile=False)
    """
    skip = tuple(skip) + (() if compile else ("compile",))
    PRIOR_SUITE.run(make, only=only, skip=skip)
