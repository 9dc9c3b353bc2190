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
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import _registry
from ._files import atomic_write
from ._header import FLOAT_DTYPES, LIMITS, TensorInfo, _OverBudget, construction_budget, loads_limited, read_header
from .errors import ConfigError, FileFormatError, UnknownNameError

__all__ = ["save", "load", "load_stacked", "read_metadata", "atomic_write", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_PREFIX = "neuralfields."


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


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file (without reading its tensors).

    Raises:
        FileFormatError: the file is missing or not a valid safetensors file.

    Example:
        >>> import neuralfields as nf, tempfile, os
        >>> f = nf.Siren(2, 1, hidden_features=8, seed=0)
        >>> path = nf.save(f, os.path.join(tempfile.mkdtemp(), "f.safetensors"), metadata={"note": "demo"})
        >>> meta = read_metadata(path)
        >>> meta["note"], meta["neuralfields.kind"], meta["neuralfields.name"]
        ('demo', 'field', 'siren')
    """
    return read_header(path)[1]


def read_tensors(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """All tensors of a safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    read_header(path)
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
    if family not in ("model", "checkpoint", "stacked") or not (version.isascii() and version.isdigit()) or len(version) > 6:
        raise FileFormatError(f"{path} has an unknown neuralfields.format {fmt!r}")
    if int(version) > FORMAT_VERSION:
        raise FileFormatError(
            f"{path} was written in format {fmt!r} by neuralfields {meta.get(_PREFIX + 'version', '?')}; "
            f"this version reads up to {family}/{FORMAT_VERSION}. Upgrade neuralfields."
        )
    missing = [k for k in ("kind", "name", "config") if _PREFIX + k not in meta]
    if missing:
        raise FileFormatError(f"{path} lacks the metadata {', '.join(_PREFIX + k for k in missing)}")
    config = loads_limited(meta[_PREFIX + "config"], "its config metadata", path)
    if not isinstance(config, dict):
        raise FileFormatError(f"{path} has config metadata that is not a JSON object")
    kind = meta[_PREFIX + "kind"]
    if kind not in _registry.KINDS:
        raise UnknownNameError(
            "registry kind", kind, _registry.KINDS, hint=f"(stored in {path}; is it from a newer neuralfields?)"
        )
    return {"kind": kind, "name": meta[_PREFIX + "name"], "config": config}


def _build(spec: dict[str, Any], declared: dict[str, TensorInfo], path: Path, limit: int) -> nn.Module:
    """Build the model a file describes, within what the file holds: no more parameter tensors than it
    declares, no more values than ``limit``."""
    values = sum(t.numel for t in declared.values())
    if values > limit:
        raise FileFormatError(
            f"{path} holds {values:,} values, more than the {limit:,} neuralfields loads "
            f"(load(..., max_parameters=N) or neuralfields._header.LIMITS['max_parameters'] raise it)"
        )
    where = f"the {spec['kind']} {spec['name']!r} stored in {path}"
    try:
        with construction_budget(len(declared), max(2 * values, values + 10**6)):
            model = _registry.build(spec)
    except _OverBudget as exc:
        raise FileFormatError(
            f"the config of {where} describes a model with {exc.what}, but the file holds {len(declared)} "
            f"tensors of {values:,} values: the config is corrupt or hostile"
        ) from None
    except UnknownNameError:
        raise
    except (ConfigError, TypeError, ValueError, RuntimeError, OverflowError, MemoryError) as exc:
        raise FileFormatError(f"cannot rebuild {where}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise FileFormatError(f"{path} holds a {spec['kind']} ({type(model).__name__}), not a model with weights to load")
    return model


def _check_against_file(model: nn.Module, declared: dict[str, TensorInfo], path: Path) -> None:
    """The model's state (names and shapes) against the tensors the file declares."""
    state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(state) - set(declared))
    extra = sorted(set(declared) - set(state))
    wrong = sorted(k for k in set(state) & set(declared) if state[k] != declared[k].shape)
    if missing or extra or wrong:
        parts = [f"missing {missing[:5]}" if missing else "", f"unexpected {extra[:5]}" if extra else "",
                 "shapes " + ", ".join(f"{k}: {list(declared[k].shape)} in the file, {list(state[k])} by its config" for k in wrong[:5]) if wrong else ""]  # fmt: skip
        raise FileFormatError(f"the weights in {path} do not match its config: {'; '.join(p for p in parts if p)}")


def load(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu", max_parameters: int | None = None
) -> nn.Module:
    """Load a model saved with :func:`save` (or the model of a training checkpoint).

    Nothing in the file is trusted before it is checked: the header (sizes, dtypes, byte ranges, nesting
    depth) against the file, then the config against the tensors the file holds. The model is first built
    on the ``meta`` device, counting what its config creates, so an absurd config is refused in
    milliseconds, without allocating memory; then it is built for real, and its weights are loaded
    strictly (every tensor must match, none may be left over). Dtypes are kept as stored; a model file
    whose floating-point tensors mix dtypes is refused. The limits are in
    :data:`neuralfields._header.LIMITS` (see the file-format page).

    Args:
        path: a ``.safetensors`` file written by neuralfields.
        device: where to put the model.
        max_parameters: the most values the model's parameters may hold (default
            ``LIMITS["max_parameters"]``, 2**31).

    Raises:
        FileFormatError: missing, truncated, corrupt, hostile or foreign file; a config that does not
            match the weights; a file that holds no model (e.g. a solver).
        UnknownNameError: the file names a kind or name that is not registered (a plugin is missing).

    Example:
        >>> import neuralfields as nf, tempfile, os
        >>> path = nf.save(nf.Gauss(2, 3, hidden_features=8, seed=0), os.path.join(tempfile.mkdtemp(), "g.safetensors"))
        >>> g = nf.load(path)
        >>> type(g).__name__, g.config["hidden_features"], g(torch.zeros(4, 2)).shape
        ('Gauss', 8, torch.Size([4, 3]))
    """
    path = Path(path)
    declared_all, meta = read_header(path)
    spec = _spec_from_metadata(path, meta)
    base = _registry.base_class(spec["kind"])
    if base is None or not issubclass(base, nn.Module):
        raise FileFormatError(f"{path} holds a {spec['kind']} ({spec['name']!r}), not a model with weights to load")
    declared = {k: v for k, v in declared_all.items() if "/" not in k}  # checkpoints keep other state under "x/"
    if meta[_PREFIX + "format"].startswith("model/") and len(declared) != len(declared_all):
        extra = sorted(set(declared_all) - set(declared))[:5]
        raise FileFormatError(f"{path} is a model file but holds tensors that are not the model's: {extra}")
    dtypes = sorted({t.dtype for t in declared.values() if t.dtype in FLOAT_DTYPES})
    if len(dtypes) > 1:
        raise FileFormatError(f"{path} mixes floating-point dtypes {dtypes} in one model; save it with one dtype")
    limit = LIMITS["max_parameters"] if max_parameters is None else int(max_parameters)
    with torch.device("meta"):
        _check_against_file(_build(spec, declared, path, limit), declared, path)
    model = _build(spec, declared, path, limit)
    tensors = read_tensors(path, device=device)
    state = {k: v for k, v in tensors.items() if "/" not in k}
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise FileFormatError(f"the weights in {path} do not match its config: {exc}") from None
    return model.to(device)


def load_stacked(path: str | os.PathLike[str], *, max_parameters: int | None = None) -> tuple[nn.Module, dict[str, Tensor]]:
    """Read a file of ``G`` models of one architecture whose state is stacked along a leading dimension
    (format ``stacked``, as the shards of :func:`~neuralfields.experiments.fit_set`), checked as
    :func:`load` checks a model file: the config is rebuilt within what one member's tensors hold, and
    every tensor must be ``(G, *shape)`` of the member's state.

    Returns:
        The template (the config's architecture; its own weights are not the file's) and the stacked state,
        name -> ``(G, *shape)``; ``template.unbatch(state, i)`` gives member ``i``.

    Raises:
        FileFormatError: as :func:`load`, or tensors that are not one stack of the config's state.

    Example:
        >>> import neuralfields as nf, tempfile, os
        >>> f = nf.Siren(2, 1, hidden_features=8, seed=0)
        >>> stack = {k: torch.stack([v, 2 * v]) for k, v in f.state_dict().items()}  # two members
        >>> path = serialize(stack, model_metadata(f, "stacked"), os.path.join(tempfile.mkdtemp(), "s.safetensors"))
        >>> template, state = load_stacked(path)
        >>> member = template.unbatch(state, 1)
        >>> bool(torch.equal(member.layers[0].weight, 2 * f.layers[0].weight))
        True
    """
    path = Path(path)
    declared, meta = read_header(path)
    spec = _spec_from_metadata(path, meta)
    if not meta[_PREFIX + "format"].startswith("stacked/"):
        raise FileFormatError(f"{path} is not a file of stacked models (format {meta[_PREFIX + 'format']!r})")
    counts = {t.shape[0] if t.shape else None for t in declared.values()}
    if len(counts) != 1 or None in counts:
        raise FileFormatError(f"{path} does not hold one stack of models: leading sizes {sorted(counts, key=str)}")
    limit = LIMITS["max_parameters"] if max_parameters is None else int(max_parameters)
    if sum(t.numel for t in declared.values()) > limit:
        raise FileFormatError(f"{path} holds more than the {limit:,} values neuralfields loads")
    member = {k: TensorInfo(t.dtype, t.shape[1:], t.start, t.end) for k, t in declared.items()}
    with torch.device("meta"):
        _check_against_file(_build(spec, member, path, limit), member, path)
    return _build(spec, member, path, limit), read_tensors(path)
