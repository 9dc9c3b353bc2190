"""The contract of kind ``"hyper-head"``: the heads of a :class:`~neuralfields.HyperSiren`.

A head is built as ``make(target, latent_dim)`` for a small target :class:`~neuralfields.Siren` (2 -> 1,
two sine layers of 8) and called as ``head(z, target)`` on codes ``z (B, latent_dim)``; registered heads
are built as ``create("hyper-head", name, target=target, latent_dim=latent_dim, init_scale=0.1, rank=2,
**example_config)``.

======================  ===========================================================================
``base``                derives from the kind's base class (``HyperHead``)
``emits``               a dict with exactly the names of ``target.named_parameters()``, each ``(B, *shape)``,
                        finite, of the codes' dtype
``batched``             item ``b`` of a batch of codes equals the head on code ``b`` alone
``gradients``           the codes and every parameter of the head get finite gradients (the codes' non-zero)
``evaluates``           ``target.forward_batched`` of the emitted parameters gives ``(B, N, out)``, finite
``float64``             float64 head, target and codes give float64 parameters
======================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..fields.siren import Siren
from ._common import Suite, assert_close, assert_finite, check_base, parameter_grads, uniform

__all__ = ["check_hyper_head", "HYPER_HEAD_SUITE", "LATENT_DIM"]

LATENT_DIM = 4
"""The code size the suite builds heads with."""

MakeHead = Callable[[Siren, int], Any]


def _target() -> Siren:
    return Siren(2, 1, hidden_features=8, hidden_layers=2, seed=0)


def _emit(make: MakeHead, batch: int = 3, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[Any, Siren, Tensor, dict]:
    target = _target().to(dtype)
    head = make(target, LATENT_DIM).to(dtype)
    z = uniform((batch, LATENT_DIM), seed=seed, dtype=dtype)
    return head, target, z, head(z, target)


def _check_params(params: Any, target: Siren, batch: int, dtype: torch.dtype) -> None:
    assert isinstance(params, dict), f"a head must return a dict name -> tensor, got {type(params).__name__}"
    expected = {name: (batch, *p.shape) for name, p in target.named_parameters()}
    missing, extra = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
    assert not missing and not extra, f"the head's names differ from the target's: missing {missing}, unexpected {extra}"
    for name, shape in expected.items():
        t = params[name]
        assert tuple(t.shape) == shape, f"{name!r} must be {shape} (batch {batch}), got {tuple(t.shape)}"
        assert t.dtype == dtype, f"{name!r} is {t.dtype}, the codes are {dtype}"
        assert_finite(t, f"parameter {name!r}")


def _base(make: MakeHead) -> None:
    check_base(make(_target(), LATENT_DIM), "hyper-head")


def _emits(make: MakeHead) -> None:
    _, target, z, params = _emit(make)
    _check_params(params, target, z.shape[0], z.dtype)


def _batched(make: MakeHead) -> None:
    head, target, z, params = _emit(make, seed=1)
    with torch.no_grad():
        for b in range(z.shape[0]):
            alone = head(z[b : b + 1], target)
            for name, t in params.items():
                assert_close(t[b : b + 1].detach(), alone[name], f"{name!r} of code {b} in a batch vs alone")


def _gradients(make: MakeHead) -> None:
    target = _target()
    head = make(target, LATENT_DIM)
    z = uniform((2, LATENT_DIM), seed=2).requires_grad_(True)
    loss = sum(t.square().sum() for t in head(z, target).values())
    (gz,) = torch.autograd.grad(loss, z, retain_graph=True)
    assert_finite(gz, "the codes' gradient")
    assert bool(gz.abs().sum() > 0), "the emitted parameters do not depend on the codes (zero gradient)"
    parameter_grads(loss, head, nonzero=False)


def _evaluates(make: MakeHead) -> None:
    _, target, z, params = _emit(make, seed=3)
    coords = uniform((z.shape[0], 5, 2), seed=4)
    out = target.forward_batched(params, coords)
    assert tuple(out.shape) == (z.shape[0], 5, 1), f"forward_batched gave {tuple(out.shape)}"
    assert_finite(out, "the evaluated fields")


def _float64(make: MakeHead) -> None:
    _, target, z, params = _emit(make, seed=5, dtype=torch.float64)
    _check_params(params, target, z.shape[0], torch.float64)


HYPER_HEAD_SUITE = Suite(
    "hyper-head",
    {
        "base": _base,
        "emits": _emits,
        "batched": _batched,
        "gradients": _gradients,
        "evaluates": _evaluates,
        "float64": _float64,
    },
)
"""The checks of kind ``"hyper-head"``, in order (see the module docs)."""


def check_hyper_head(make: MakeHead, *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Run the hyper-head contract on heads built by ``make(target, latent_dim)`` (once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.conditioning.hyper_heads import FullHead
        >>> from neuralfields.testing import check_hyper_head
        >>> check_hyper_head(lambda target, latent_dim: FullHead(target, latent_dim, init_scale=0.1, rank=1))
    """
    HYPER_HEAD_SUITE.run(make, only=only, skip=skip)
