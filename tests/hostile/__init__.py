"""Hostile and malformed files for the hardening tests (and for fuzzing by hand).

``python -m tests.hostile OUT_DIR`` writes every file of :data:`CASES` into ``OUT_DIR``; the tests build
them in a temporary folder. Each case is a function ``(folder) -> path`` that writes one file.
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save as st_save

import neuralfields as nf

_DT = {torch.float32: "F32", torch.float16: "F16", torch.float64: "F64", torch.int64: "I64"}


def raw_file(path: Path, header: bytes | str, data: bytes = b"") -> Path:
    """A file of an 8-byte little-endian header length, the header bytes and ``data``."""
    header = header.encode() if isinstance(header, str) else header
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def model_file(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> Path:
    path.write_bytes(st_save({k: v.contiguous() for k, v in tensors.items()}, metadata=meta))
    return path


def siren_file(path: Path, config_changes: dict | None = None, *, kind: str = "field", name: str = "siren",
               fmt: str = "model/1", extra: dict[str, torch.Tensor] | None = None, dtype=None) -> Path:  # fmt: skip
    """A small Siren's real tensors with a (possibly tampered) config."""
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    tensors = dict(f.state_dict())
    if dtype is not None:  # one tensor in another dtype
        first = next(iter(tensors))
        tensors[first] = tensors[first].to(dtype)
    tensors.update(extra or {})
    config = {**f.config, **(config_changes or {})}
    meta = {"neuralfields.format": fmt, "neuralfields.version": "0", "neuralfields.kind": kind,
            "neuralfields.name": name, "neuralfields.config": json.dumps(config)}  # fmt: skip
    return model_file(path, tensors, meta)


class _Payload:
    """Unpickling this runs code: it writes the file named by its argument (nothing must ever unpickle it)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.marker, "w"))


def pickle_payload(folder: Path) -> Path:
    """A torch.save-style pickle whose unpickling would create ``folder / "PWNED"``."""
    path = folder / "payload.safetensors"
    path.write_bytes(pickle.dumps({"state_dict": _Payload(str(folder / "PWNED"))}, protocol=2))
    return path


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CASES: dict[str, Callable[[Path], Path]] = {
    "huge_in_features": lambda d: siren_file(d / "huge_in_features.safetensors", {"in_features": 50_000_000}),
    "huge_everything": lambda d: siren_file(d / "huge_everything.safetensors", {"hidden_features": 10**7, "hidden_layers": 10**6}),
    "million_layers": lambda d: siren_file(d / "million_layers.safetensors", {"hidden_features": 1, "hidden_layers": 10**6}),
    "seed_2_70": lambda d: siren_file(d / "seed_2_70.safetensors", {"seed": 2**70}),
    "seed_text": lambda d: siren_file(d / "seed_text.safetensors", {"seed": "zero"}),
    "solver_kind": lambda d: siren_file(d / "solver_kind.safetensors", {}, kind="solver", name="map"),
    "odd_format": lambda d: siren_file(d / "odd_format.safetensors", fmt="model/\u00b2"),
    "mixed_dtypes": lambda d: siren_file(d / "mixed_dtypes.safetensors", dtype=torch.float16),
    "extra_state": lambda d: siren_file(d / "extra_state.safetensors", extra={"task/x": torch.zeros(3)}),
    "latent_billion": lambda d: model_file(
        d / "latent_billion.safetensors",
        dict(nf.ConditionedField(nf.Siren(2, 1, 8, 1, seed=0), nf.Latent(3, 4, mode="film", seed=0)).state_dict()),
        {"neuralfields.format": "model/1", "neuralfields.version": "0", "neuralfields.kind": "model",
         "neuralfields.name": "conditioned-field", "neuralfields.config": json.dumps({
             "field": {"kind": "field", "name": "siren", "config": nf.Siren(2, 1, 8, 1, seed=0).config},
             "conditioning": {"kind": "conditioning", "name": "latent",
                              "config": {"num_items": 10**9, "dim": 4, "mode": "film", "init_std": 0.01, "seed": 0}}})},
    ),  # fmt: skip
    "mask_huge": lambda d: model_file(
        d / "mask_huge.safetensors", {"mask": torch.ones(4, 4)},
        {"neuralfields.format": "model/1", "neuralfields.version": "0", "neuralfields.kind": "operator",
         "neuralfields.name": "mask", "neuralfields.config": json.dumps({"shape": [10**5, 10**5], "kind": "quarter"})},
    ),
    "mask_huge_random": lambda d: model_file(
        d / "mask_huge_random.safetensors", {"mask": torch.ones(4, 4)},
        {"neuralfields.format": "model/1", "neuralfields.version": "0", "neuralfields.kind": "operator",
         "neuralfields.name": "mask", "neuralfields.config": json.dumps({"shape": [10**5, 10**5], "kind": "random"})},
    ),  # fmt: skip
    "deep_config": lambda d: siren_file(d / "deep_config.safetensors", {"seed": json.loads(nested(500))}),
    "deep_header": lambda d: raw_file(d / "deep_header.safetensors", '{"a": ' + nested(10_000) + "}"),
    "float_offsets": lambda d: raw_file(
        d / "float_offsets.safetensors", json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.5]}}), b"\0" * 8
    ),
    "offsets_size": lambda d: raw_file(
        d / "offsets_size.safetensors", json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4]}}), b"\0" * 4
    ),
    "bad_dtype": lambda d: raw_file(d / "bad_dtype.safetensors", json.dumps({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}), b"\0" * 4),
    "metadata_not_strings": lambda d: raw_file(d / "metadata_not_strings.safetensors", json.dumps({"__metadata__": {"a": [1]}})),
    "pickle_payload": pickle_payload,
    "header_bomb": lambda d: (d / "header_bomb.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{}") and d / "header_bomb.safetensors",
    "pickle": lambda d: (d / "pickle.safetensors").write_bytes(pickle.dumps({"a": 1}, protocol=2)) and d / "pickle.safetensors",
}


def main(out: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in CASES.items():
        print(make(folder))


if __name__ == "__main__":
    main(sys.argv[1])
