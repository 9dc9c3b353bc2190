"""Exceptions raised by neuralfields.

Every error the library raises on bad input is a :class:`NeuralFieldsError`. The subclasses also
derive from the matching built-in exception (``ValueError``, ``TypeError``, ...), so code that
already catches those keeps working.

Messages say what was wrong, what was expected, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "NeuralFieldsError",
    "ShapeError",
    "DTypeError",
    "InvalidDataError",
    "NonFiniteLossError",
    "IndexOutOfRangeError",
    "ConfigError",
    "DeviceError",
    "RegistryError",
    "UnknownNameError",
    "DuplicateNameError",
    "PluginWarning",
    "EdgeOfGridWarning",
    "FileFormatError",
    "OutputError",
    "CheckpointError",
    "OptionalDependencyError",
]


class NeuralFieldsError(Exception):
    """Base class of every error raised by neuralfields."""


class ShapeError(NeuralFieldsError, ValueError):
    """A tensor has the wrong number of dimensions or the wrong size."""


class DTypeError(NeuralFieldsError, TypeError):
    """A tensor has the wrong dtype (e.g. integers where floats are needed)."""


class InvalidDataError(NeuralFieldsError, ValueError):
    """Data values are unusable: NaN or infinity, out of range, empty."""


class NonFiniteLossError(InvalidDataError):
    """A training loss (or a solver's objective) became NaN or infinite.

    Raised by the engine before the update of that step, so the model keeps its last finite state.

    Attributes:
        step: the step (1-based) whose loss was not finite.
        value: the loss value.
    """

    def __init__(self, message: str, step: int, value: float) -> None:
        super().__init__(message)
        self.step = step
        self.value = value


class IndexOutOfRangeError(NeuralFieldsError, IndexError):
    """An item index is outside the range a model supports."""


class ConfigError(NeuralFieldsError, ValueError):
    """An argument or configuration value is invalid."""


class DeviceError(NeuralFieldsError, ValueError):
    """Tensors that must be on one device are not (e.g. inputs on CUDA, weights on the CPU)."""


class RegistryError(NeuralFieldsError, LookupError):
    """A registry operation failed."""


class UnknownNameError(RegistryError):
    """A kind or name is not registered.

    Attributes:
        name: the name that was asked for.
        available: the registered names of that kind.
    """

    def __init__(self, what: str, name: str, available: Iterable[str], hint: str = "") -> None:
        self.name = name
        self.available = sorted(available)
        close = difflib.get_close_matches(name, self.available, n=1)
        msg = f"unknown {what} {name!r}."
        msg += f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(repr(a) for a in self.available) or "none"
        msg += f" Available: {listed}."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class DuplicateNameError(RegistryError):
    """Two different implementations claim the same registry name."""


class PluginWarning(UserWarning):
    """A plugin failed to load (or two plugins claim one name); the rest of neuralfields still works."""


class EdgeOfGridWarning(UserWarning):
    """A value chosen from a grid (e.g. the prior weight of ``lam="auto"``) lies at the grid's edge: the best
    value may lie outside it, so widen the grid."""


class FileFormatError(NeuralFieldsError, ValueError):
    """A file is missing, truncated, corrupt, or not a neuralfields safetensors file."""


class OutputError(NeuralFieldsError, OSError):
    """A file or folder cannot be written: a read-only or missing folder, a full disk, a path that is a
    folder (or a file where a folder is needed), a read-only file. The message names the user's path."""


class CheckpointError(FileFormatError):
    """A training checkpoint cannot be used to resume this fit."""


class OptionalDependencyError(NeuralFieldsError, ImportError):
    """An optional dependency is needed for this feature but is not installed."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {package!r}, which is not installed. "
            f"Install it with: pip install 'neuralfields[{extra}]'"
        )
