"""Run the contract suite of a kind on a registered name, and parametrize tests over a kind's names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import _registry
from ..errors import UnknownNameError
from ._common import Suite
from .code_priors import CODE_PRIOR_SUITE
from .conditioning import CONDITIONING_SUITE, MODEL_SUITE
from .fields import FIELD_SUITE
from .heads import HYPER_HEAD_SUITE
from .inits import INIT_SUITE
from .operators import OPERATOR_SUITE
from .priors import PRIOR_SUITE
from .solvers import SOLVER_SUITE, STOPPING_SUITE

__all__ = ["SUITES", "contract_checks", "check_registered", "parametrize_registered"]


SUITES: Mapping[str, Suite] = {
    "field": FIELD_SUITE,
    "conditioning": CONDITIONING_SUITE,
    "model": MODEL_SUITE,
    "prior": PRIOR_SUITE,
    "operator": OPERATOR_SUITE,
    "solver": SOLVER_SUITE,
    "stopping": STOPPING_SUITE,
    "hyper-head": HYPER_HEAD_SUITE,
    "init": INIT_SUITE,
    "code-prior": CODE_PRIOR_SUITE,
}
"""The contract suite of every registry kind."""

_HEAD_DEFAULTS = {"init_scale": 0.1, "rank": 2}


def _suite(kind: str) -> Suite:
    if kind not in SUITES:
        raise UnknownNameError("registry kind", kind, SUITES)
    return SUITES[kind]


def contract_checks(kind: str) -> tuple[str, ...]:
    """The names of the checks of ``kind``'s contract, in the order they run.

    Example:
        >>> from neuralfields.testing import contract_checks
        >>> contract_checks("operator")[:3]
        ('base', 'config', 'adjointness')
    """
    return _suite(kind).names()


def check_registered(
    kind: str,
    name: str,
    *,
    config: Mapping[str, Any] | None = None,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    compile: bool = True,
) -> None:
    """Check the implementation registered as ``name`` of ``kind`` against its kind's contract.

    Each check builds a fresh instance with ``create(kind, name, **config)``, by default from the example
    configuration given at registration (:func:`neuralfields._registry.example_config`). A plugin's
    test suite runs the library's own checks with one line per implementation.

    Args:
        kind: a registry kind.
        name: a registered name.
        config: constructor arguments to use instead of the example configuration.
        only: run only these checks (see :func:`contract_checks`).
        skip: checks to leave out.
        compile: ``False`` leaves out the ``torch.compile`` checks (of the kinds that have one).

    Raises:
        ContractFailure: a check failed (an ``AssertionError`` naming the kind, the name, the check and why).
        UnknownNameError: the kind, the name or a check name is unknown.

    Example:
        >>> from neuralfields.testing import check_registered
        >>> check_registered("operator", "downsample", compile=False)
        >>> check_registered("field", "siren", config={"hidden_features": 8}, only=["shapes", "batched"])
    """
    suite = _suite(kind)
    settings = dict(_registry.example_config(kind, name) if config is None else config)
    skip = tuple(skip) + (("compile",) if not compile and "compile" in suite.checks else ())
    if kind == "hyper-head":
        head_settings = {**_HEAD_DEFAULTS, **settings}

        def make_head(target: Any, latent_dim: int) -> Any:
            return _registry.create(kind, name, target=target, latent_dim=latent_dim, **head_settings)

        suite.run(make_head, subject=f"hyper-head {name!r}", only=only, skip=skip)
        return

    def make() -> Any:
        return _registry.create(kind, name, **settings)

    suite.run(make, subject=f"{kind} {name!r}", only=only, skip=skip)


def parametrize_registered(kind: str, *, exclude: Iterable[str] = (), by_check: bool = False) -> Any:
    """A ``pytest.mark.parametrize`` over the names registered under ``kind`` (plugins included).

    Args:
        kind: a registry kind.
        exclude: names to leave out.
        by_check: parametrize over ``(name, check)`` pairs instead, one test per check of the contract
            (the test takes the arguments ``name`` and ``check``).

    Example:
        A plugin's ``tests/test_contracts.py``::

            import neuralfields.testing as nft

            @nft.parametrize_registered("field", by_check=True)
            def test_field_contract(name, check):
                nft.check_registered("field", name, only=[check])

        The mark holds what it parametrizes over:

        >>> mark = parametrize_registered("operator", exclude=["mask"])
        >>> mark.args[0], "downsample" in mark.args[1], "mask" in mark.args[1]
        ('name', True, False)
        >>> mark = parametrize_registered("operator", by_check=True)
        >>> mark.args[0], ("downsample", "adjointness") in mark.args[1]
        (('name', 'check'), True)
    """
    import pytest

    names = [n for n in _registry.available(kind) if n not in set(exclude)]
    if not by_check:
        return pytest.mark.parametrize("name", names)
    checks = contract_checks(kind)
    pairs = [(n, c) for n in names for c in checks]
    return pytest.mark.parametrize(("name", "check"), pairs, ids=[f"{n}-{c}" for n, c in pairs])
