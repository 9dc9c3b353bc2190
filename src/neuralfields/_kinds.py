"""The registry's kinds as contracts: each kind's base class, the example configurations registered with
names, and aliases of names that moved to another kind (see :mod:`neuralfields._registry`)."""

from __future__ import annotations

import copy
import importlib
import threading
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, UnknownNameError

__all__ = ["KINDS", "base_class", "set_base", "example_config", "set_example", "add_alias"]

KINDS: tuple[str, ...] = (
    "field", "conditioning", "model", "prior", "operator", "solver", "stopping", "hyper-head", "init", "code-prior",
)  # fmt: skip
"""The kinds of implementation the registry holds:

- ``"field"``: coordinate networks (:class:`~neuralfields.Field`);
- ``"conditioning"``: item index -> field inputs (:class:`~neuralfields.conditioning.Conditioning`);
- ``"model"``: composite models, :class:`~neuralfields.ConditionedField`, :class:`~neuralfields.HyperSiren`
  and :class:`~neuralfields.generators.FieldGenerator` (:class:`~neuralfields.conditioning.Model`);
- ``"prior"``: image priors with ``energy(x) -> (B,)`` (:class:`~neuralfields.priors.Prior`);
- ``"operator"``: linear forward operators with adjoints (:class:`~neuralfields.inverse.Operator`);
- ``"solver"``: inverse-problem solvers (:class:`~neuralfields.inverse.Solver`);
- ``"stopping"``: early-stopping rules of the solvers (:class:`~neuralfields.inverse.StoppingRule`);
- ``"hyper-head"``: heads of a :class:`~neuralfields.HyperSiren` (latent code -> SIREN parameters);
- ``"init"``: initialisation strategies (:class:`~neuralfields.training.Initialisation`);
- ``"code-prior"``: distributions over codes to sample new fields from
  (:class:`~neuralfields.generators.CodePrior`).
"""

# Where each kind's base class lives ("module:attribute"), imported on first use so that this low module
# imports nothing above it. A module may also declare its base with set_base().
_BASE_HOMES: dict[str, str | None] = {
    "field": "neuralfields.fields.base:Field",
    "conditioning": "neuralfields.conditioning.base:Conditioning",
    "model": "neuralfields.conditioning.base:Model",
    "prior": "neuralfields.priors.base:Prior",
    "operator": "neuralfields.inverse.operators:Operator",
    "solver": "neuralfields.inverse.solvers:Solver",
    "stopping": "neuralfields.inverse.stopping:StoppingRule",
    "hyper-head": "neuralfields.conditioning.hyper_heads:HyperHead",
    "init": "neuralfields.training.init:Initialisation",
    "code-prior": "neuralfields.generators.code_priors:CodePrior",
}

_examples: dict[tuple[str, str], dict[str, Any]] = {}
_bases: dict[str, type] = {}
# names that moved: (old kind, old name) -> (kind, name); lookups of the old pair find the new entry
_aliases: dict[tuple[str, str], tuple[str, str]] = {
    ("conditioning", "conditioned-field"): ("model", "conditioned-field"),
    ("conditioning", "hyper-siren"): ("model", "hyper-siren"),
}
_lock = threading.RLock()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UnknownNameError("registry kind", kind, KINDS)


def base_class(kind: str) -> type | None:
    """The base class of ``kind``'s implementations.

    The class is imported on first use (this module imports nothing above it). It is the interface the
    contract suites of :mod:`neuralfields.testing` check every registered implementation against.

    Raises:
        UnknownNameError: ``kind`` is not a registry kind.

    Example:
        >>> from neuralfields import _registry
        >>> _registry.base_class("field").__name__, _registry.base_class("init").__name__
        ('Field', 'Initialisation')
    """
    _check_kind(kind)
    with _lock:
        if kind in _bases:
            return _bases[kind]
        home = _BASE_HOMES.get(kind)
    if home is None:
        return None
    module, _, attr = home.partition(":")
    found = getattr(importlib.import_module(module), attr, None)
    with _lock:
        if kind in _bases:  # the import declared it with set_base()
            return _bases[kind]
        if isinstance(found, type):
            _bases[kind] = found
            return found
    return None


def set_base(kind: str, cls: type) -> None:
    """Declare ``cls`` the base class of ``kind`` (for the module that defines it).

    Raises:
        UnknownNameError: ``kind`` is not a registry kind.
        ConfigError: ``cls`` is not a class.
    """
    _check_kind(kind)
    if not isinstance(cls, type):
        raise ConfigError(f"the base class of kind {kind!r} must be a class, got {cls!r}")
    with _lock:
        _bases[kind] = cls


def _check_example(example: Any) -> dict[str, Any]:
    if not isinstance(example, Mapping) or not all(isinstance(k, str) for k in example):
        raise ConfigError(
            f"an example configuration must be a mapping of constructor argument names to values, got {example!r}"
        )
    return copy.deepcopy(dict(example))


def example_config(kind: str, name: str) -> dict[str, Any]:
    """The small example configuration registered with ``name`` (a fresh copy; ``{}`` when there is none).

    ``create(kind, name, **example_config(kind, name))`` builds a small, fast instance: what the contract
    suites of :mod:`neuralfields.testing` test and the docs show.

    Raises:
        UnknownNameError: ``name`` is not registered under ``kind``.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields import _registry
        >>> _registry.example_config("operator", "mask")
        {'shape': [6, 10], 'kind': 'random', 'fraction': 0.3, 'seed': 1}
        >>> type(nf.create("operator", "mask", **_registry.example_config("operator", "mask"))).__name__
        'Mask'
    """
    from ._registry import _lookup, _resolve

    _lookup(kind, name)
    with _lock:
        return copy.deepcopy(_examples.get(_resolve(kind, name), {}))


def set_example(kind: str, name: str, config: Mapping[str, Any]) -> None:
    """Attach (or replace) the example configuration of a registered ``name`` (see :func:`~neuralfields.register`).

    Raises:
        UnknownNameError: ``name`` is not registered under ``kind``.
        ConfigError: ``config`` is not a mapping with string keys.
    """
    from ._registry import _lookup, _resolve

    _lookup(kind, name)
    checked = _check_example(config)
    with _lock:
        _examples[_resolve(kind, name)] = checked


def add_alias(old_kind: str, old_name: str, kind: str, name: str) -> None:
    """Let lookups of ``(old_kind, old_name)`` find ``(kind, name)``: an implementation that moved keeps
    loading from files that name its old place. A name registered under the old pair wins over the alias.

    Raises:
        UnknownNameError: a kind is not a registry kind.
    """
    _check_kind(old_kind)
    _check_kind(kind)
    with _lock:
        _aliases[(old_kind, old_name)] = (kind, name)
