"""What every report folder records: its metrics, and the exact configuration and library version that made it
(``run.json``), so ``neuralfields <command> --config run.json`` runs it again."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from .._json import finite
from ..errors import ConfigError, FileFormatError
from ..io import atomic_write

__all__ = ["write_json", "write_run", "read_run", "config_from"]

RUN_FILE = "run.json"
_C = TypeVar("_C")


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON (non-finite floats as ``null``), atomically."""
    return atomic_write(path, (json.dumps(finite(data), indent=2) + "\n").encode())


def write_run(out: str | os.PathLike[str], command: str, config: Any, data: dict[str, Any]) -> Path:
    """Record how a report was made: ``out/run.json`` with the command, its config (a dataclass), the data it
    read and the versions of neuralfields, PyTorch and Python."""
    from .. import __version__

    record = {
        "command": command,
        "config": asdict(config) if is_dataclass(config) else dict(config),
        "data": data,
        "versions": {"neuralfields": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }
    return write_json(Path(out) / RUN_FILE, record)


def read_run(path: str | os.PathLike[str], command: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``(config, data)`` recorded by :func:`write_run` for ``command``.

    Raises:
        FileFormatError: the file is missing or not a run record.
        ConfigError: it records another command.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RUN_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(f"no run record at {path}; report folders hold one as {RUN_FILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path} is not a run record: {exc}") from None
    if not isinstance(record, dict) or not {"command", "config", "data"} <= set(record):
        raise FileFormatError(f"{path} is not a run record (it needs 'command', 'config' and 'data')")
    if record["command"] != command:
        raise ConfigError(f"{path} records the command {record['command']!r}; run it with `neuralfields {record['command']} --config {path}`")
    return dict(record["config"]), dict(record["data"])


def config_from(cls: type[_C], values: dict[str, Any]) -> _C:
    """Build the config dataclass ``cls`` from recorded values (lists back to tuples where the field is one).

    Raises:
        ConfigError: a value names no field of ``cls``.
    """
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"the recorded config has settings {cls.__name__} does not know: {unknown}")
    return cls(**{k: tuple(v) if isinstance(v, list) and "tuple" in str(known[k].type) else v for k, v in values.items()})
