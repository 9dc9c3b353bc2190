"""The registry: every implementation is registered by kind and name.

Kinds are fixed (:data:`KINDS`); names are free. Each kind is a contract: it has a base class with the
interface its implementations provide (:func:`base_class`), and the public contract suites of
:mod:`neuralfields.testing` check every registered implementation against it. A registration may carry
a small example configuration (:func:`example_config`) that builds a fast instance for tests and docs.

Third-party packages add implementations through entry points in the group ``neuralfields.plugins``:
the value is a module (imported for its ``register`` calls) or a callable taking no arguments (called
once). Discovery is lazy (on the first registry query) and can be turned off with
``NEURALFIELDS_DISABLE_PLUGINS=1``.

Names that moved to another kind keep working through aliases: files saved with the old kind and name
still load (e.g. ``("conditioning", "conditioned-field")`` is now ``("model", "conditioned-field")``).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._kinds import (
    KINDS,
    _aliases,
    _bases,
    _check_example,
    _check_kind,
    _examples,
    _lock,
    add_alias,
    base_class,
    example_config,
    set_base,
    set_example,
)
from .errors import ConfigError, DuplicateNameError, PluginWarning, UnknownNameError

__all__ = [
    "KINDS",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginWarning",
    "register",
    "create",
    "available",
    "get",
    "plugins",
    "spec_of",
    "build",
    "base_class",
    "set_base",
    "example_config",
    "set_example",
    "add_alias",
]

ENTRY_POINT_GROUP = "neuralfields.plugins"
"""The entry-point group third-party packages declare their plugins in."""

_BUILTIN = "neuralfields"
_T = TypeVar("_T")


@dataclass
class PluginInfo:
    """What one entry point in ``neuralfields.plugins`` is and what it registered.

    Attributes:
        name: the entry point's name.
        value: the entry point's target (``module`` or ``module:callable``).
        distribution: the distribution (pip package) that declares it.
        version: that distribution's version.
        registered: ``(kind, name)`` pairs it registered.
        error: why it failed to load, or ``None``.
    """

    name: str
    value: str
    distribution: str
    version: str
    registered: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "value": self.value,
            "distribution": self.distribution,
            "version": self.version,
            "registered": [list(p) for p in self.registered],
            "error": self.error,
        }


@dataclass
class _Entry:
    obj: Any
    source: str


_entries: dict[str, dict[str, _Entry]] = {k: {} for k in KINDS}
# names claimed by two plugins: (kind, name) -> sources; resolved lazily to an error on use
_conflicts: dict[tuple[str, str], list[str]] = {}
_plugins: list[PluginInfo] = []
_discovered = False
_loading: list[PluginInfo] = []  # stack of plugins whose code is running


def _current_source() -> str:
    return _loading[-1].distribution if _loading else _BUILTIN


def register(kind: str, name: str, example: Mapping[str, Any] | None = None) -> Callable[[_T], _T]:
    """Register a class or factory under ``kind`` and ``name``.

    Use as a decorator. The registered object is called with the config's keyword arguments by
    :func:`create`. Classes get ``_nf_kind`` and ``_nf_name`` attributes so that files can name them.
    Registering an object with the same module and qualified name again replaces the old one (a
    re-run notebook cell or a reloaded module); any other object under a taken name is an error.

    Classes should derive from the kind's base class (:func:`base_class`); the contract suites of
    :mod:`neuralfields.testing` check that, and the rest of the kind's interface.

    Args:
        kind: one of :data:`KINDS`.
        name: the name to register under (e.g. ``"siren"``).
        example: a small configuration (constructor keyword arguments, JSON-serialisable) that builds a
            fast instance, used by the contract suites and the docs (see :func:`example_config`).

    Raises:
        UnknownNameError: ``kind`` is not a registry kind.
        DuplicateNameError: another object is already registered under this name.
        ConfigError: ``example`` is not a mapping with string keys.

    Example:
        >>> import neuralfields as nf
        >>> @nf.register("field", "doc-example-field")
        ... class MyField(nf.Siren):
        ...     pass
        >>> "doc-example-field" in nf.available("field")
        True
    """
    _check_kind(kind)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"registry names must be non-empty strings, got {name!r}")
    example = _check_example(example) if example is not None else None

    def decorator(obj: _T) -> _T:
        with _lock:
            source = _current_source()
            table = _entries[kind]
            old = table.get(name)
            if old is not None and old.obj is not obj and _qualname(old.obj) != _qualname(obj):
                if _loading:  # during discovery: record, report on use, keep the rest working
                    _conflicts.setdefault((kind, name), [old.source]).append(source)
                    warnings.warn(
                        f"{kind} {name!r} is registered by both {old.source!r} and {source!r}; "
                        f"using it will raise an error until one is uninstalled",
                        PluginWarning,
                        stacklevel=2,
                    )
                else:
                    raise DuplicateNameError(
                        f"{kind} {name!r} is already registered by {old.source!r} "
                        f"({_qualname(old.obj)}); {source!r} tried to register "
                        f"{_qualname(obj)} under the same name. Choose another name."
                    )
            else:
                table[name] = _Entry(obj, source)
                if example is not None:
                    _examples[(kind, name)] = example
            if isinstance(obj, type) and "_nf_name" not in obj.__dict__:
                obj._nf_kind = kind  # type: ignore[attr-defined]
                obj._nf_name = name  # type: ignore[attr-defined]
            if _loading:
                _loading[-1].registered.append((kind, name))
        return obj

    return decorator


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _discover() -> None:
    global _discovered
    with _lock:
        if _discovered:
            return
        _discovered = True
        if os.environ.get("NEURALFIELDS_DISABLE_PLUGINS", "").strip() not in ("", "0"):
            return
        for ep in _entry_points():
            _load_plugin(ep)


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)


def _load_plugin(ep: metadata.EntryPoint) -> None:
    dist = getattr(ep, "dist", None)
    info = PluginInfo(
        name=ep.name,
        value=ep.value,
        distribution=dist.metadata["Name"] if dist is not None else ep.name,
        version=dist.version if dist is not None else "unknown",
    )
    _plugins.append(info)
    module = ep.value.partition(":")[0].strip()
    imported = module in sys.modules  # imported before discovery: its register calls already ran
    _loading.append(info)
    try:
        obj = ep.load()
        if callable(obj) and not isinstance(obj, type(os)):
            obj()
    except Exception as exc:  # a broken plugin must not break the library
        info.error = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"neuralfields plugin {ep.name!r} from {info.distribution!r} failed to load "
            f"({info.error}); the rest of neuralfields still works",
            PluginWarning,
            stacklevel=3,
        )
    finally:
        _loading.pop()
    if imported and not info.registered and info.error is None:
        _claim(info, module)


def _claim(info: PluginInfo, module: str) -> None:
    """Credit ``info`` with what its module registered when it was imported before discovery."""
    for kind, table in _entries.items():
        for name, entry in table.items():
            where = getattr(entry.obj, "__module__", None) or ""
            if entry.source == _BUILTIN and (where == module or where.startswith(module + ".")):
                entry.source = info.distribution
                info.registered.append((kind, name))


def _lookup(kind: str, name: str) -> _Entry:
    _check_kind(kind)
    _discover()
    if (kind, name) in _conflicts:
        sources = " and ".join(repr(s) for s in _conflicts[(kind, name)])
        raise DuplicateNameError(
            f"{kind} {name!r} is registered by both {sources}; uninstall one of them "
            f"(or set NEURALFIELDS_DISABLE_PLUGINS=1)"
        )
    if name not in _entries[kind] and (kind, name) in _aliases:
        new_kind, new_name = _aliases[(kind, name)]
        return _lookup(new_kind, new_name)
    try:
        return _entries[kind][name]
    except KeyError:
        raise UnknownNameError(
            kind, name, _entries[kind], hint="Plugins add more through entry points."
        ) from None


def _resolve(kind: str, name: str) -> tuple[str, str]:
    """The (kind, name) an alias stands for (itself when it is no alias)."""
    if name not in _entries[kind] and (kind, name) in _aliases:
        return _resolve(*_aliases[(kind, name)])
    return kind, name


def get(kind: str, name: str) -> Any:
    """The object registered under ``kind`` and ``name``.

    Raises:
        UnknownNameError: with the available names and the closest match.
    """
    return _lookup(kind, name).obj


def create(kind: str, name: str, /, **config: Any) -> Any:
    """Build the implementation registered as ``name`` of ``kind`` from its config.

    Config values that are nested specs (``{"kind": ..., "name": ..., "config": {...}}``, as
    :func:`spec_of` writes them) are built first, so wrappers rebuild their inner models.

    Example:
        >>> import neuralfields as nf
        >>> f = nf.create("field", "siren", in_features=2, out_features=3, hidden_features=16)
        >>> type(f).__name__
        'Siren'
    """
    obj = get(kind, name)
    built = {k: build(v) if _is_spec(v) else v for k, v in config.items()}
    try:
        return obj(**built)
    except TypeError as exc:
        raise ConfigError(f"cannot create {kind} {name!r} from config {config!r}: {exc}") from exc


def available(kind: str) -> list[str]:
    """Sorted names registered under ``kind`` (built-ins and plugins).

    Example:
        >>> import neuralfields as nf
        >>> names = nf.available("field")
        >>> {"siren", "gauss", "wire"} <= set(names), names == sorted(names)
        (True, True)
    """
    _check_kind(kind)
    _discover()
    return sorted(_entries[kind])


def plugins() -> list[PluginInfo]:
    """The plugins found through entry points, with what each registered.

    Example:
        >>> import neuralfields as nf
        >>> infos = nf.plugins()  # one PluginInfo per entry point of the installed packages (maybe none)
        >>> all(isinstance(p, PluginInfo) for p in infos)
        True
        >>> all(name in nf.available(kind) for p in infos if p.error is None for kind, name in p.registered)
        True
    """
    _discover()
    return list(_plugins)


def config_repr(model: Any) -> str:
    """``key=value, ...`` of a model's config, for ``extra_repr`` (empty when it has no config)."""
    try:
        config = model.config
    except NotImplementedError:
        return ""
    return ", ".join(f"{k}={v!r}" for k, v in config.items())


def _is_spec(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) == {"kind", "name", "config"}
        and value["kind"] in KINDS
    )


def spec_of(model: Any) -> dict[str, Any]:
    """The spec ``{"kind", "name", "config"}`` that rebuilds ``model`` through the registry.

    Raises:
        ConfigError: the model's class is not registered.
    """
    cls = type(model)
    if "_nf_name" not in cls.__dict__:
        raise ConfigError(
            f"{cls.__qualname__} is not registered, so it cannot be rebuilt from a file. "
            f"Decorate it with @neuralfields.register(kind, name)."
        )
    execution = set(getattr(cls, "_nf_execution", ()))  # how it computes is not what it is
    config = {k: v for k, v in model.config.items() if k not in execution}
    return {"kind": cls._nf_kind, "name": cls._nf_name, "config": config}


def build(spec: Mapping[str, Any]) -> Any:
    """Build a model from a spec written by :func:`spec_of`."""
    if not _is_spec(spec):
        raise ConfigError(f"not a model spec (needs kind, name and config): {spec!r}")
    return create(spec["kind"], spec["name"], **spec["config"])


@contextmanager
def _isolated() -> Iterator[None]:
    """Snapshot and restore the registry (for tests)."""
    global _discovered
    with _lock:
        saved = ({k: dict(v) for k, v in _entries.items()}, dict(_conflicts), list(_plugins), _discovered)
        extra = (dict(_examples), dict(_bases), dict(_aliases))
    try:
        yield
    finally:
        with _lock:
            for k, v in saved[0].items():
                _entries[k].clear()
                _entries[k].update(v)
            _conflicts.clear()
            _conflicts.update(saved[1])
            _plugins[:] = saved[2]
            _discovered = saved[3]
            for table, old in zip((_examples, _bases, _aliases), extra):
                table.clear()
                table.update(old)  # type: ignore[attr-defined]
