"""Save and load models as safetensors files.

A file holds the model's state dict as tensors and string metadata:

=========================  =====================================================================
``neuralfields.format``    ``"model/1"`` or ``"checkpoint/1"`` (family and format version)
``neuralfields.version``   the library version that wrote it
``neuralfields.kind``      registry kind (``"field"``, ...)
``neuralfields.name``      registry name (``"siren"``, ...)
``neuralfields.config``    JSON constructor arguments (nested models nest their specs)
=========================  =====================================================================

Loading rebuilds the model through the registry and loads the weights strictly. Files are never
unpickled, and are written to a temporary name and renamed, so a crash leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import _registry
from ._files import atomic_write
from .errors import ConfigError, FileFormatError, UnknownNameError

__all__ = ["save", "load", "read_metadata", "atomic_write", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_PREFIX = "neuralfields."
_MAX_HEADER = 100 * 1024 * 1024


def _version() -> str:
    from . import __version__

    return __version__


def _tensors_for_file(state: dict[str, Tensor]) -> dict[str, Tensor]:
    # safetensors needs contiguous CPU tensors that share no storage
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def serialize(
    tensors: dict[str, Tensor], metadata: dict[str, str], path: str | os.PathLike[str]
) -> Path:
    """Write tensors and string metadata to a safetensors file, atomically."""
    from safetensors.torch import save as st_save

    data = st_save(_tensors_for_file(tensors), metadata=metadata)
    return atomic_write(path, data)


def model_metadata(model: nn.Module, fmt: str = "model") -> dict[str, str]:
    """The metadata that names ``model``'s registry entry and config."""
    spec = _registry.spec_of(model)
    try:
        config = json.dumps(spec["config"], sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{type(model).__name__}.config must be JSON-serialisable to be saved: {exc}"
        ) from exc
    return {
        _PREFIX + "format": f"{fmt}/{FORMAT_VERSION}",
        _PREFIX + "version": _version(),
        _PREFIX + "kind": spec["kind"],
        _PREFIX + "name": spec["name"],
        _PREFIX + "config": config,
    }


def save(model: nn.Module, path: str | os.PathLike[str], *, metadata: dict[str, str] | None = None) -> Path:
    """Save a registered model (weights and config) to one ``.safetensors`` file.

    Args:
        model: a registered model, e.g. a :class:`~neuralfields.Siren`.
        path: file to write (parent folders are created).
        metadata: extra string metadata to store (keys must not start with ``neuralfields.``).

    Returns:
        The path written.

    Example:
        >>> import neuralfields as nf, tempfile, os
        >>> f = nf.Siren(2, 1, hidden_features=16, seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "f.safetensors")
        >>> g = nf.load(nf.save(f, path))
        >>> bool(torch.equal(f(torch.zeros(1, 2)), g(torch.zeros(1, 2))))
        True
    """
    meta = model_metadata(model)
    for key, value in (metadata or {}).items():
        if key.startswith(_PREFIX) or not isinstance(value, str):
            raise ConfigError(f"extra metadata must map non-reserved keys to strings, got {key!r}: {value!r}")
        meta[key] = value
    return serialize(model.state_dict(), meta, path)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileFormatError(f"no such file: {path}")
    if not path.is_file():
        raise FileFormatError(f"{path} is not a file")
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise FileFormatError(f"{path} is too short to be a safetensors file ({len(head)} bytes)")
        (n,) = struct.unpack("<Q", head)
        size = path.stat().st_size
        if n == 0 or n > _MAX_HEADER or 8 + n > size:
            # only now look at the leading bytes: in a valid file they are the header length
            if head[:1] == b"\x80" or head[:2] == b"PK":
                raise FileFormatError(
                    f"{path} looks like a pickle / torch.save file, not safetensors. neuralfields never "
                    f"unpickles files (it could run code); convert it in a trusted environment with "
                    f"neuralfields.save"
                )
            raise FileFormatError(
                f"{path} is not a valid safetensors file (header of {n} bytes in a {size}-byte file): "
                f"it is truncated, corrupt, or another format"
            )
        header = fh.read(n)
    try:
        parsed = json.loads(header)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FileFormatError(f"{path} is not a valid safetensors file: its header is not JSON") from None
    if not isinstance(parsed, dict):
        raise FileFormatError(f"{path} is not a valid safetensors file: its header is not a JSON object")
    end = max((v["data_offsets"][1] for k, v in parsed.items() if k != "__metadata__" and isinstance(v, dict)
               and isinstance(v.get("data_offsets"), list) and len(v["data_offsets"]) == 2), default=0)
    if 8 + n + end > size:
        raise FileFormatError(f"{path} is truncated: its header describes {8 + n + end} bytes, the file has {size}")


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file (without reading its tensors).

    Raises:
        FileFormatError: the file is missing or not a valid safetensors file.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    _check_file(path)
    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except SafetensorError as exc:
        raise FileFormatError(f"{path} is not a valid safetensors file: {exc}") from None


def read_tensors(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """All tensors of a safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    _check_file(path)
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, RuntimeError, ValueError) as exc:
        raise FileFormatError(f"{path} is not a valid safetensors file: {exc}") from None
    # fresh, aligned allocations: kernels may round differently on the file's unaligned offsets
    return {k: v.clone() for k, v in tensors.items()}


def _spec_from_metadata(path: Path, meta: dict[str, str]) -> dict[str, Any]:
    fmt = meta.get(_PREFIX + "format")
    if fmt is None:
        raise FileFormatError(
            f"{path} is a safetensors file but not a neuralfields one (no 'neuralfields.format' metadata); "
            f"save models with neuralfields.save"
        )
    family, _, version = fmt.partition("/")
    if family not in ("model", "checkpoint") or not version.isdigit():
        raise FileFormatError(f"{path} has an unknown neuralfields.format {fmt!r}")
    if int(version) > FORMAT_VERSION:
        raise FileFormatError(
            f"{path} was written in format {fmt!r} by neuralfields {meta.get(_PREFIX + 'version', '?')}; "
            f"this version reads up to {family}/{FORMAT_VERSION}. Upgrade neuralfields."
        )
    missing = [k for k in ("kind", "name", "config") if _PREFIX + k not in meta]
    if missing:
        raise FileFormatError(f"{path} lacks the metadata {', '.join(_PREFIX + k for k in missing)}")
    try:
        config = json.loads(meta[_PREFIX + "config"])
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path} has corrupt config metadata (not JSON: {exc})") from None
    if not isinstance(config, dict):
        raise FileFormatError(f"{path} has config metadata that is not a JSON object")
    kind = meta[_PREFIX + "kind"]
    if kind not in _registry.KINDS:
        raise UnknownNameError(
            "registry kind", kind, _registry.KINDS, hint=f"(stored in {path}; is it from a newer neuralfields?)"
        )
    return {"kind": kind, "name": meta[_PREFIX + "name"], "config": config}


def load(path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> nn.Module:
    """Load a model saved with :func:`save` (or the model of a training checkpoint).

    The model is rebuilt through the registry from the stored kind, name and config, and its
    weights are loaded strictly (every tensor must match). Dtypes are kept as stored.

    Args:
        path: a ``.safetensors`` file written by neuralfields.
        device: where to put the model.

    Raises:
        FileFormatError: missing, truncated, corrupt or foreign file; weights that do not match.
        UnknownNameError: the file names a kind or name that is not registered (a plugin is missing).
    """
    path = Path(path)
    meta = read_metadata(path)
    spec = _spec_from_metadata(path, meta)
    try:
        model = _registry.build(spec)
    except ConfigError as exc:  # unknown names keep their own error (it lists what is available)
        raise FileFormatError(f"cannot rebuild the model stored in {path}: {exc}") from exc
    tensors = read_tensors(path, device=device)
    state = {k: v for k, v in tensors.items() if "/" not in k}  # checkpoints keep other state under "x/"
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise FileFormatError(f"the weights in {path} do not match its config: {exc}") from None
    return model.to(device)
