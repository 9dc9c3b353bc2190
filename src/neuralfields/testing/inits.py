"""The contract of kind ``"init"``: initialisation strategies (:class:`~neuralfields.training.Initialisation`).

A strategy is built as ``make()`` and applied as ``strategy(field)``; the suite starts a small
:class:`~neuralfields.Siren` (2 -> 1, two sine layers of 16) and the example of every registered field family.

======================  ===========================================================================
``base``                derives from the kind's base class (``Initialisation``)
``applies``             returns the field it was given, with the same parameter names and shapes, finite
``deterministic``       one configuration applied to two copies of one field gives equal weights
``global-rng``          applying it leaves torch's global RNG as it was
``families``            on every registered field family it either applies (finite, shapes kept) or
                        raises a ``ConfigError`` that says why
======================  ===========================================================================
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .. import _registry
from ..errors import ConfigError
from ..fields.base import Field
from ..fields.siren import Siren
from ._common import Suite, assert_finite, check_base

__all__ = ["check_init", "INIT_SUITE"]


def _field() -> Siren:
    return Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)


def _shapes(field: Field) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in field.named_parameters()}


def _applied(strategy: Any, field: Field) -> Field:
    shapes = _shapes(field)
    out = strategy(field)
    assert out is field, f"a strategy must return the field it was given (in place), got {type(out).__name__}"
    assert _shapes(field) == shapes, "the strategy changed the field's parameter names or shapes"
    for name, p in field.named_parameters():
        assert_finite(p.detach(), f"parameter {name!r} after the strategy")
    return field


def _base(make: Callable[[], Any]) -> None:
    check_base(make(), "init")


def _applies(make: Callable[[], Any]) -> None:
    _applied(make(), _field())


def _deterministic(make: Callable[[], Any]) -> None:
    a, b = _applied(make(), _field()), _applied(make(), _field())
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), f"one configuration gave different values of {name!r} on two copies of one field"


def _global_rng(make: Callable[[], Any]) -> None:
    strategy, field = make(), _field()
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    strategy(field)
    assert torch.equal(torch.get_rng_state(), state), "the strategy drew from torch's global RNG"


def _families(make: Callable[[], Any]) -> None:
    for name in _registry.available("field"):
        field = _registry.create("field", name, **_registry.example_config("field", name))
        try:
            _applied(make(), copy.deepcopy(field))
        except ConfigError as exc:
            assert str(exc), f"the ConfigError on field family {name!r} says nothing"


INIT_SUITE = Suite(
    "init",
    {"base": _base, "applies": _applies, "deterministic": _deterministic, "global-rng": _global_rng, "families": _families},
)
"""The checks of kind ``"init"``, in order (see the module docs)."""


def check_init(make: Callable[[], Any], *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Run the init contract on strategies built by ``make()`` (once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.training import WeightScalingInit
        >>> from neuralfields.testing import check_init
        >>> check_init(lambda: WeightScalingInit(alpha=2.0, seed=1))
    """
    INIT_SUITE.run(make, only=only, skip=skip)
