"""Resolving a solve's arguments: the operator, the prior and the solver from names, specs or objects; the
prior frozen during a solve. Private helpers of :mod:`neuralfields.inverse.solvers`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torch import nn

from .._registry import create
from ..errors import ConfigError, DTypeError
from ..priors.base import Prior
from .operators import Operator


def _one_of(name: str, value: Any, old: str, old_value: Any, default: int) -> Any:
    """The value of an argument that also has an earlier name (``steps`` / ``iterations``)."""
    if value is not None and old_value is not None and value != old_value:
        raise ConfigError(f"give {name} or {old} (its earlier name), not both: got {name}={value!r}, {old}={old_value!r}")
    return value if value is not None else (old_value if old_value is not None else default)


def _from_spec(kind: str, spec: str | Mapping[str, Any]) -> Any:
    """Build from a registered name or a ``{"name": ..., "config": {...}}`` mapping."""
    if isinstance(spec, str):
        return create(kind, spec)
    if "name" not in spec:
        raise ConfigError(f"a {kind} spec needs a 'name' (and optionally a 'config'), got {dict(spec)!r}")
    return create(kind, spec["name"], **dict(spec.get("config", {})))


def _resolve_operator(operator: Any) -> Operator:
    if isinstance(operator, Operator):
        return operator
    if isinstance(operator, (str, Mapping)):
        return _from_spec("operator", operator)  # type: ignore[no-any-return]
    from .deepinv_interop import PhysicsOperator, is_physics

    if is_physics(operator):
        return PhysicsOperator(operator)
    raise DTypeError(
        f"operator must be an Operator, a registered operator name or a deepinv physics, got {type(operator).__name__}"
    )


def _resolve_prior(prior: Any) -> Prior | None:
    if prior is None:
        return None
    if isinstance(prior, (os.PathLike, Path)) or (isinstance(prior, str) and prior.endswith(".safetensors")):
        from ..io import load

        prior = load(prior)
    elif isinstance(prior, (str, Mapping)):
        prior = _from_spec("prior", prior)
    if not callable(getattr(prior, "energy", None)):
        raise DTypeError(f"a prior needs an energy(x) method, got {type(prior).__name__}")
    return prior


def _resolve_solver(solver: Any) -> Any:
    """A :class:`~neuralfields.inverse.Solver` from itself, a registered name or a registry spec."""
    from .solvers import Solver

    if isinstance(solver, Solver):
        return solver
    if isinstance(solver, (str, Mapping)):
        return _from_spec("solver", solver)
    raise DTypeError(f"solver must be a name, a Solver or a spec, got {type(solver).__name__}")


@contextmanager
def _frozen(prior: Any) -> Iterator[None]:
    """Evaluation mode and no parameter gradients for a module prior during a solve, restored after."""
    if not isinstance(prior, nn.Module):
        yield
        return
    training = prior.training
    flags = [(p, p.requires_grad) for p in prior.parameters()]
    prior.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    cache = getattr(prior, "_solve_cache", None)  # a prior may keep derived weights while they are frozen
    if cache is not None:
        cache(True)
    try:
        yield
    finally:
        if cache is not None:
            cache(False)
        prior.train(training)
        for p, flag in flags:
            p.requires_grad_(flag)


