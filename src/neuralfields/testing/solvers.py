"""The contracts of kinds ``"solver"`` and ``"stopping"``.

A solver restores tiny images (2 of 1 x 8 x 8) from denoising measurements with
:func:`neuralfields.inverse.solve`, a few iterations:

======================  ===========================================================================
``base``                derives from ``Solver``
``config``              JSON config; ``create(**config)`` rebuilds it
``solve``               ``x`` has the images' shape, in [0, 1], finite; per-image ``stopped_at`` / ``stopped``
                        of shape ``(B,)``; the PSNR does not drop below the start's
``deterministic``       two solves give identical images
``bad_input``           integer measurements raise ``DTypeError``, ``sigma=0`` ``ConfigError``
======================  ===========================================================================

A stopping rule (a :class:`~neuralfields.inverse.StoppingRule`):

======================  ===========================================================================
``base``                derives from ``StoppingRule``
``config``              JSON config; ``create(**config)`` rebuilds it (when registered)
``start``               ``start(y, informative, sigma)`` returns weights like ``y`` in [0, 1]
``observe``             ``observe(iteration, residual, heldout)`` returns two bool tensors ``(B,)``
``deterministic``       a fresh rule with the same config decides the same on the same sequence
======================  ===========================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError, DTypeError
from ._common import Suite, assert_finite, check_base, check_config, expect_raises, uniform

__all__ = ["check_solver", "check_stopping", "SOLVER_SUITE", "STOPPING_SUITE"]

MakeSolver = Callable[[], Any]
MakeRule = Callable[[], Any]

_ITERATIONS = 12
_SIGMA = 0.1


def _clean() -> Tensor:
    """Two smooth 8 x 8 grey images in [0.2, 0.8]."""
    t = torch.linspace(-1.0, 1.0, 8)
    ramp = 0.5 + 0.3 * t[None, :] * torch.ones(8, 1)
    blob = 0.2 + 0.6 * torch.exp(-(t[:, None] ** 2 + t[None, :] ** 2) * 2.0)
    return torch.stack([ramp, blob])[:, None]


def _solve(solver: Any, y: Tensor, **kwargs: Any) -> Any:
    from ..inverse import Denoise, solve

    settings = {"sigma": _SIGMA, "steps": _ITERATIONS, "eval_every": 1, "progress": False, **kwargs}
    return solve(y, Denoise(), None, solver=solver, **settings)


def _measurements() -> tuple[Tensor, Tensor]:
    from ..inverse import Denoise

    clean = _clean()
    return clean, Denoise().measure(clean, sigma=_SIGMA, seed=0)


def _s_base(make: MakeSolver) -> None:
    check_base(make(), "solver")


def _s_config(make: MakeSolver) -> None:
    check_config(make(), "solver")


def _s_solve(make: MakeSolver) -> None:
    clean, y = _measurements()
    sol = _solve(make(), y, reference=clean)
    x = sol.x
    assert isinstance(x, Tensor) and tuple(x.shape) == tuple(clean.shape), f"x must be {tuple(clean.shape)}"
    assert_finite(x, "the restored images")
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0, "the restored images must lie in [0, 1]"
    for name in ("stopped_at", "stopped"):
        value = getattr(sol, name)
        assert tuple(value.shape) == (2,), f"Solution.{name} must be per image (2,), got {tuple(value.shape)}"
    before = _solve(make(), y, reference=clean, steps=0).psnr  # the solver's start
    after = sol.psnr
    assert after is not None and len(after) == 2, f"Solution.psnr must be per image with a reference, got {after}"
    assert all(math.isfinite(p) for p in [*before, *after]), f"PSNRs must be finite, got {before} and {after}"
    start, end = sum(before) / 2, sum(after) / 2
    assert end >= start - 0.1, f"{_ITERATIONS} iterations lowered the mean PSNR from {start:.2f} to {end:.2f} dB"


def _s_deterministic(make: MakeSolver) -> None:
    _, y = _measurements()
    a, b = _solve(make(), y).x, _solve(make(), y).x
    assert torch.equal(a, b), "two solves of the same measurements with the same solver config differ"


def _s_bad_input(make: MakeSolver) -> None:
    _, y = _measurements()
    solver = make()
    expect_raises(DTypeError, "integer measurements", lambda: _solve(solver, (y * 255).long()))
    expect_raises(ConfigError, "sigma=0", lambda: _solve(solver, y, sigma=0.0))


SOLVER_SUITE = Suite(
    "solver",
    {
        "base": _s_base,
        "config": _s_config,
        "solve": _s_solve,
        "deterministic": _s_deterministic,
        "bad_input": _s_bad_input,
    },
)
"""The checks of kind ``"solver"``, in order (see the module docs)."""


def check_solver(make: MakeSolver, *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Run the solver contract on solvers built by ``make`` (called once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.inverse import MAPSolver
        >>> from neuralfields.testing import check_solver
        >>> check_solver(lambda: MAPSolver(lr=0.05))
    """
    SOLVER_SUITE.run(make, only=only, skip=skip)


# ---- stopping rules ---------------------------------------------------------------------------


def _sequence(rule: Any) -> list[tuple[Tensor, Tensor]]:
    y = uniform((2, 1, 6, 6), low=0.0, high=1.0)
    weights = rule.start(y, torch.ones_like(y, dtype=torch.bool), _SIGMA)
    assert isinstance(weights, Tensor) and tuple(weights.shape) == tuple(y.shape), (
        f"start must return weights like y {tuple(y.shape)}, got {getattr(weights, 'shape', weights)}"
    )
    assert weights.is_floating_point(), f"the weights must be floating point, got {weights.dtype}"
    assert float(weights.min()) >= 0.0 and float(weights.max()) <= 1.0, "the weights must lie in [0, 1]"
    decisions = []
    for it in range(9):  # iterate 0 is the start
        residual = torch.tensor([1.0 / (it + 1), 0.5 + 0.01 * it], dtype=torch.float64)
        heldout = torch.tensor([0.2 / (it + 1), 0.1 * it], dtype=torch.float64)
        keep, stop = rule.observe(it, residual, heldout)
        for name, t in (("keep", keep), ("stop", stop)):
            assert isinstance(t, Tensor) and t.dtype == torch.bool and tuple(t.shape) == (2,), (
                f"observe must return two bool tensors (B,) = (2,); {name} is {getattr(t, 'dtype', t)} "
                f"{tuple(getattr(t, 'shape', ()))}"
            )
        decisions.append((keep, stop))
    return decisions


def _r_base(make: MakeRule) -> None:
    check_base(make(), "stopping")


def _r_config(make: MakeRule) -> None:
    rule = make()
    if "_nf_name" in type(rule).__dict__:
        check_config(rule, "stopping")
        return
    config = rule.config
    assert isinstance(config, dict), f"config must be a dict, got {type(config).__name__}"
    assert type(rule)(**config).config == config, "the rule's class rebuilt from its config has another config"


def _r_start(make: MakeRule) -> None:
    _sequence(make())  # start is checked first thing


def _r_observe(make: MakeRule) -> None:
    _sequence(make())


def _r_deterministic(make: MakeRule) -> None:
    a, b = _sequence(make()), _sequence(make())
    for it, ((ka, sa), (kb, sb)) in enumerate(zip(a, b)):
        assert torch.equal(ka, kb) and torch.equal(sa, sb), f"two fresh rules decided differently at iteration {it}"


STOPPING_SUITE = Suite(
    "stopping",
    {
        "base": _r_base,
        "config": _r_config,
        "start": _r_start,
        "observe": _r_observe,
        "deterministic": _r_deterministic,
    },
)
"""The checks of kind ``"stopping"``, in order (see the module docs)."""


def check_stopping(make: MakeRule, *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Run the stopping-rule contract on rules built by ``make`` (called once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.inverse import HoldoutStop
        >>> from neuralfields.testing import check_stopping
        >>> check_stopping(lambda: HoldoutStop(fraction=0.2, patience=3))
    """
    STOPPING_SUITE.run(make, only=only, skip=skip)

