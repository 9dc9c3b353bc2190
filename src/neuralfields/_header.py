"""Reading a file without trusting it (a low module used by :mod:`neuralfields.io`).

A safetensors file is an 8-byte header length, a JSON header (tensor names, dtypes, shapes, byte
ranges and string metadata) and the tensor bytes. :func:`read_header` checks all of it against the
file and against :data:`LIMITS` before anything is read or built; :func:`construction_budget` bounds
what building a model from a file's config may create (parameters and buffers are counted as they are
registered, so an absurd config is refused after a handful of layers, on the meta device, without
allocating memory).
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .errors import FileFormatError

__all__ = ["LIMITS", "TensorInfo", "read_header", "loads_limited", "construction_budget"]

LIMITS: dict[str, int] = {
    "max_header_bytes": 100 * 1024 * 1024,
    "max_json_depth": 64,
    "max_tensors": 100_000,
    "max_parameters": 2**31,
}
"""What :func:`neuralfields.load` accepts (change the values to accept more; ``load(max_parameters=...)``
overrides the last one for one call): the JSON header's size in bytes and its nesting depth (the config's
too), the number of tensors in a file, and the number of values a model's parameters and buffers may hold
(``2**31`` float32 values are 8 GiB)."""

_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as a file's header declares it."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads_limited(text: str | bytes, what: str, path: Path) -> Any:
    """``json.loads`` that refuses invalid or too deeply nested JSON with a :class:`FileFormatError`."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        deep = True
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise FileFormatError(f"{path} is not a valid safetensors file: {what} is not JSON ({exc})") from None
    else:
        deep = _depth(value) > LIMITS["max_json_depth"]
    if deep:
        raise FileFormatError(
            f"{path} is not a valid safetensors file: {what} is nested deeper than {LIMITS['max_json_depth']} levels "
            f"(neuralfields._header.LIMITS['max_json_depth']); it is corrupt or hostile"
        )
    return value


def _bad(path: Path, why: str) -> FileFormatError:
    return FileFormatError(f"{path} is not a valid safetensors file: {why}")


def _tensor(path: Path, name: str, entry: Any) -> TensorInfo:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _bad(path, f"tensor {name!r} is not described by dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _DTYPE_BYTES:
        raise _bad(path, f"tensor {name!r} has an unknown dtype {dtype!r}")
    ints = lambda xs: isinstance(xs, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in xs)  # noqa: E731
    if not ints(shape) or len(shape) > 16:
        raise _bad(path, f"tensor {name!r} has an invalid shape {shape!r}")
    if not ints(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
        raise _bad(path, f"tensor {name!r} has invalid data_offsets {offsets!r}")
    info = TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])
    if info.end - info.start != info.numel * _DTYPE_BYTES[dtype]:
        raise _bad(path, f"tensor {name!r} ({dtype} {list(shape)}) needs {info.numel * _DTYPE_BYTES[dtype]} bytes, its data_offsets give {info.end - info.start}")
    return info


def read_header(path: str | os.PathLike[str]) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """The tensors a file declares and its string metadata, every part checked against the file.

    Raises:
        FileFormatError: missing, truncated, corrupt, hostile or foreign (e.g. a pickle) file.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"no such file: {path}")
    if not path.is_file():
        raise FileFormatError(f"{path} is not a file")
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise FileFormatError(f"{path} is too short to be a safetensors file ({len(head)} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or n > LIMITS["max_header_bytes"] or 8 + n > size:
            if head[:1] == b"\x80" or head[:2] == b"PK":  # only now: in a valid file these are the length
                raise FileFormatError(
                    f"{path} looks like a pickle / torch.save file, not safetensors. neuralfields never "
                    f"unpickles files (it could run code); convert it in a trusted environment with "
                    f"neuralfields.save"
                )
            raise FileFormatError(
                f"{path} is not a valid safetensors file (header of {n} bytes in a {size}-byte file): "
                f"it is truncated, corrupt, or another format"
            )
        raw = fh.read(n)
    parsed = loads_limited(raw, "its header", path)
    if not isinstance(parsed, dict):
        raise _bad(path, "its header is not a JSON object")
    metadata = parsed.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise _bad(path, "its metadata is not a mapping of strings to strings")
    if len(parsed) > LIMITS["max_tensors"]:
        raise _bad(path, f"it declares {len(parsed)} tensors (at most {LIMITS['max_tensors']} are read)")
    tensors = {name: _tensor(path, name, entry) for name, entry in parsed.items()}
    end = max((t.end for t in tensors.values()), default=0)
    if 8 + n + end > size:
        raise FileFormatError(f"{path} is truncated: its header describes {8 + n + end} bytes, the file has {size}")
    return tensors, metadata


class _OverBudget(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@contextmanager
def construction_budget(max_parameters: int, max_values: int) -> Iterator[None]:
    """Abort building a model (``_OverBudget``) once it registers more than ``max_parameters`` parameters or
    more than ``max_values`` values in its parameters and buffers: the file it is built for holds fewer."""
    count = {"parameters": 0, "values": 0}

    def counted(kind: str, tensor: Any) -> None:
        if tensor is None:
            return
        if kind == "parameter":
            count["parameters"] += 1
            if count["parameters"] > max_parameters:
                raise _OverBudget(f"more than {max_parameters} parameter tensors")
        count["values"] += int(tensor.numel())
        if count["values"] > max_values:
            raise _OverBudget(f"more than {max_values:,} values")

    hooks = [
        nn.modules.module.register_module_parameter_registration_hook(lambda m, n, p: counted("parameter", p)),
        nn.modules.module.register_module_buffer_registration_hook(lambda m, n, b: counted("buffer", b)),
    ]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
