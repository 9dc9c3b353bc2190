"""Configs captured from constructor arguments.

A class that inherits :class:`Configurable` records the arguments its constructor is called with
(defaults applied) and returns them as its :attr:`~Configurable.config`, so nobody writes a ``config``
property by hand and it cannot drift from the constructor. ``neuralfields.create(kind, name,
**model.config)`` rebuilds the model, and :func:`neuralfields.save` stores the config in the file.

* Only the constructor of the class being built is recorded (``super().__init__(...)`` calls of base
  classes are not), except that when the outermost constructor takes ``**kwargs`` the named arguments
  of the base constructor it forwards them to are recorded too (with their defaults), so a subclass
  with ``**kwargs`` still records every argument that rebuilds it.
* Execution-only arguments, named in the class attribute ``_nf_execution`` (e.g. ``("backend",)``),
  are not part of the config: they choose how a model computes, not what it is, so they are not saved.
* Values are stored JSON-ready: tuples become lists, registered models (a field inside a wrapper)
  become their nested spec ``{"kind", "name", "config"}``.
* A class that normalises an argument (e.g. resolves a default of ``None``) adjusts the recorded config
  in :meth:`~Configurable._finalize_config`.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

__all__ = ["Configurable"]

_STATE = "_nf_captured"
_WRAPPED = "_nf_captures_config"


class Configurable:
    """Mixin: ``config`` is captured from the constructor's arguments.

    Attributes:
        _nf_execution: names of constructor arguments that only choose how the model computes (such as
            ``backend``); they are left out of :attr:`config`, so they are not part of a saved model.

    Example:
        >>> from neuralfields._config import Configurable
        >>> class Scaled(Configurable):
        ...     _nf_execution = ("backend",)
        ...     def __init__(self, factor=2.0, size=(4, 4), backend="auto"):
        ...         self.factor = factor
        >>> Scaled(3.0).config
        {'factor': 3.0, 'size': [4, 4]}
    """

    _nf_execution: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            init = cls.__init__  # inherited: wrap it unless a Configurable base already did
        if not getattr(init, _WRAPPED, False):
            cls.__init__ = _capturing(init)  # type: ignore[method-assign]

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable; execution-only arguments left out)."""
        state = self.__dict__.get(_STATE)
        if state is None or state["values"] is None:
            why = "it was built without its constructor" if state is None else "its constructor took *args"
            raise NotImplementedError(
                f"{type(self).__name__} has no captured config ({why}); define a `config` property"
            )
        excluded = set(type(self)._nf_execution)
        config = {}
        for key, value in state["values"].items():
            if key in excluded:
                continue
            config[key] = to_config_value(self._current(key, value))
        return self._finalize_config(config)

    def _current(self, key: str, value: Any) -> Any:
        # a registered submodule passed to the constructor may have been replaced since: use the current one
        if _is_registered(value):
            current = self.__dict__.get("_modules", {}).get(key, self.__dict__.get(key))
            if _is_registered(current):
                return current
        return value

    def _finalize_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Adjust the captured config (e.g. store a default the constructor resolved). Default: as is."""
        return config


def _capturing(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a constructor so that it records its bound arguments on the instance."""
    signature = inspect.signature(init)
    params = list(signature.parameters.values())[1:]  # without self
    open_ended = any(p.kind is p.VAR_KEYWORD for p in params)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        state = self.__dict__.get(_STATE)
        if state is not None and state["running"]:  # a base constructor called through super()
            if state["open"] and state["values"] is not None:
                values = _bound(signature, self, args, kwargs)
                for key, value in (values or {}).items():
                    state["values"].setdefault(key, value)
            state["open"] = state["open"] and open_ended
            init(self, *args, **kwargs)
            return
        values = _bound(signature, self, args, kwargs)
        if values is False:  # arguments do not fit: let the constructor raise its usual TypeError
            init(self, *args, **kwargs)
            return
        state = {"values": values, "open": open_ended, "running": True}
        object.__setattr__(self, _STATE, state)
        try:
            init(self, *args, **kwargs)
        finally:
            state["running"] = False

    setattr(__init__, _WRAPPED, True)
    return __init__


def _bound(signature: inspect.Signature, obj: Any, args: tuple, kwargs: dict) -> dict[str, Any] | None | bool:
    """The named arguments of one call with defaults applied; ``None`` when they cannot be named
    (extra positional arguments); ``False`` when they do not fit the signature."""
    try:
        bound = signature.bind(obj, *args, **kwargs)
    except TypeError:
        return False
    bound.apply_defaults()
    values: dict[str, Any] = {}
    for i, (name, value) in enumerate(bound.arguments.items()):
        if i == 0:
            continue  # self
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                return None
        elif kind is inspect.Parameter.VAR_KEYWORD:
            values.update({k: _freeze(v) for k, v in value.items()})
        else:
            values[name] = _freeze(value)
    return values


def _freeze(value: Any) -> Any:
    """A copy of containers (so later changes to the caller's list do not change the config)."""
    if isinstance(value, Mapping):
        return {k: _freeze(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_freeze(v) for v in value]
    return value


def _is_registered(value: Any) -> bool:
    return "_nf_name" in type(value).__dict__


def to_config_value(value: Any) -> Any:
    """``value`` in the JSON-ready form configs use: lists for sequences, Python numbers, nested specs
    for registered models. Other objects are returned unchanged (saving then reports them)."""
    if _is_registered(value):
        from ._registry import spec_of

        return spec_of(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): to_config_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_config_value(v) for v in value]
    return value
