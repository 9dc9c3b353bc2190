"""Training checkpoints: model, optimiser state, step, RNG state and history in one safetensors file.

The model part is an ordinary neuralfields model file, so :func:`neuralfields.load` reads a
checkpoint's model too. Other state lives under prefixed tensor names (``optimizer/...``,
``rng/...``) and in the ``neuralfields.checkpoint`` metadata (JSON).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..errors import CheckpointError
from ..fields.base import Field
from ..io import model_metadata, read_metadata, read_tensors, serialize
from .history import History

__all__ = ["save_checkpoint", "load_checkpoint", "Checkpoint"]

_KEY = "neuralfields.checkpoint"


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        step: updates done when it was written.
        settings: the fit settings it was written with (a resume must use the same).
        history: the history up to ``step``.
        model_state: the field's state dict.
        optimizer_state: the optimiser's state dict.
        rng_state: torch's global CPU RNG state.
    """

    step: int
    settings: dict[str, Any]
    history: History
    model_state: dict[str, Tensor]
    optimizer_state: dict[str, Any]
    rng_state: Tensor | None


def save_checkpoint(
    path: str | os.PathLike[str],
    field: Field,
    optimizer: torch.optim.Optimizer,
    step: int,
    settings: dict[str, Any],
    history: History,
) -> Path:
    """Write a checkpoint atomically (see the module docs for the layout)."""
    tensors: dict[str, Tensor] = dict(field.state_dict())
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer/{idx}/{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    tensors["rng/torch"] = torch.get_rng_state()
    meta = model_metadata(field, fmt="checkpoint")
    meta[_KEY] = json.dumps(
        {
            "step": step,
            "settings": settings,
            "history": history.as_dict(),
            "optimizer": {"param_groups": opt["param_groups"], "scalars": scalars},
        }
    )
    return serialize(tensors, meta, path)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: the file is a model file, not a checkpoint, or its state is incomplete.
        FileFormatError: the file is missing, truncated or not safetensors.
    """
    meta = read_metadata(path)
    if _KEY not in meta:
        raise CheckpointError(
            f"{path} is not a training checkpoint (it has no '{_KEY}' metadata); "
            f"checkpoints are written by fit(..., checkpoint=PATH)"
        )
    try:
        info = json.loads(meta[_KEY])
        step, settings, history = int(info["step"]), info["settings"], History.from_dict(info["history"])
        groups, scalars = info["optimizer"]["param_groups"], info["optimizer"]["scalars"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has corrupt checkpoint metadata: {exc}") from None
    tensors = read_tensors(path)
    model_state = {k: v for k, v in tensors.items() if "/" not in k}
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, idx, name = key.split("/", 2)
            state.setdefault(int(idx), {})[name] = value
    for idx, values in scalars.items():
        state.setdefault(int(idx), {}).update(values)
    return Checkpoint(
        step=step,
        settings=settings,
        history=history,
        model_state=model_state,
        optimizer_state={"state": state, "param_groups": groups},
        rng_state=tensors.get("rng/torch"),
    )
