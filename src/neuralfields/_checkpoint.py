"""Training checkpoints: model and task state, optimiser state, step, settings and history in one file.

A checkpoint is a safetensors file. When the run trains a registered model, its metadata names that
model like an ordinary model file, so :func:`neuralfields.load` reads a checkpoint's model too. Tensor
names without a ``/`` are the model's state dict; other state lives under prefixes (``optimizer/...``,
``task/...``) and in the ``neuralfields.checkpoint`` metadata (JSON). A low module: the engine
(:mod:`neuralfields._loop`) writes and reads checkpoints for every trainer and solver.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ._history import History
from .errors import CheckpointError
from .io import FORMAT_VERSION, model_metadata, read_metadata, read_tensors, serialize

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint"]

_KEY = "neuralfields.checkpoint"


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        step: updates done when it was written.
        settings: the run settings it was written with (a resume must use the same).
        history: the history up to ``step``.
        model_state: the model's state dict (tensor names without a ``/``).
        optimizer_state: the optimiser's state dict (empty when the run had no optimiser).
        state: every tensor that is not optimiser state (the model's and the task's ``task/...``).
        extra: the task's JSON state.

    Example:
        >>> import neuralfields as nf, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "run.safetensors")
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), img, steps=5, checkpoint=path, progress=False)
        >>> ckpt = load_checkpoint(path)
        >>> ckpt.step, len(ckpt.history), ckpt.settings["steps"], sorted(ckpt.optimizer_state)
        (5, 5, 5, ['param_groups', 'state'])
        >>> all(torch.equal(ckpt.model_state[k], v) for k, v in res.field.state_dict().items())
        True
    """

    step: int
    settings: dict[str, Any]
    history: History
    model_state: dict[str, Tensor]
    optimizer_state: dict[str, Any]
    state: dict[str, Tensor] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None,
    optimizer: torch.optim.Optimizer | None,
    step: int,
    settings: dict[str, Any],
    history: History,
    *,
    state: dict[str, Tensor] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (see the module docs for the layout).

    Args:
        path: the file to write.
        model: the registered model being trained (its spec goes into the metadata), or ``None``.
        optimizer: the optimiser, or ``None``.
        step: updates done.
        settings: the run's settings (checked on resume).
        history: the history so far.
        state: tensors to keep; default the model's state dict. Names with a ``/`` are task state.
        extra: JSON-serialisable task state.

    Example:
        >>> import neuralfields as nf, os, tempfile
        >>> f = nf.Siren(2, 1, hidden_features=8, seed=0)
        >>> opt = torch.optim.Adam(f.parameters())
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "c.safetensors"), f, opt, 0, {"lr": 1e-3}, History(),
        ...                        extra={"note": "start"})
        >>> ckpt = load_checkpoint(path)
        >>> ckpt.step, ckpt.settings, ckpt.extra
        (0, {'lr': 0.001}, {'note': 'start'})
        >>> type(nf.load(path)).__name__  # the checkpoint of a registered model also loads as that model
        'Siren'
    """
    tensors: dict[str, Tensor] = dict(state if state is not None else (model.state_dict() if model is not None else {}))
    groups: list[Any] = []
    scalars: dict[str, dict[str, Any]] = {}
    if optimizer is not None:
        opt = optimizer.state_dict()
        groups = opt["param_groups"]
        for idx, values in opt["state"].items():
            for key, value in values.items():
                if isinstance(value, Tensor):
                    tensors[f"optimizer/{idx}/{key}"] = value
                else:
                    scalars.setdefault(str(idx), {})[key] = value
    if model is not None and "_nf_name" in type(model).__dict__:
        meta = model_metadata(model, fmt="checkpoint")
    else:
        meta = {"neuralfields.format": f"checkpoint/{FORMAT_VERSION}"}
    meta[_KEY] = json.dumps(
        {
            "step": step,
            "settings": settings,
            "history": history.as_dict(),
            "optimizer": {"param_groups": groups, "scalars": scalars},
            "extra": extra or {},
        }
    )
    return serialize(tensors, meta, path)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or by earlier versions' ``fit``).

    Raises:
        CheckpointError: the file is a model file, not a checkpoint, or its state is incomplete.
        FileFormatError: the file is missing, truncated or not safetensors.

    Example:
        >>> import neuralfields as nf, os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> path = os.path.join(folder, "run.safetensors")
        >>> res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), img, steps=4, checkpoint=path, progress=False)
        >>> ckpt = load_checkpoint(path)
        >>> ckpt.step, ckpt.history.step
        (4, [1, 2, 3, 4])
        >>> model_file = nf.save(res.field, os.path.join(folder, "field.safetensors"))
        >>> try:
        ...     load_checkpoint(model_file)
        ... except CheckpointError:
        ...     print("a model file is not a checkpoint")
        a model file is not a checkpoint
    """
    meta = read_metadata(path)
    if _KEY not in meta:
        raise CheckpointError(
            f"{path} is not a training checkpoint (it has no '{_KEY}' metadata); "
            f"checkpoints are written by the trainers' checkpoint=PATH argument"
        )
    try:
        info = json.loads(meta[_KEY])
        step, settings, history = int(info["step"]), dict(info["settings"]), History.from_dict(info["history"])
        groups, scalars = info["optimizer"]["param_groups"], info["optimizer"]["scalars"]
        extra = dict(info.get("extra") or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path} has corrupt checkpoint metadata: {exc}") from None
    tensors = read_tensors(path)
    opt_state: dict[int, dict[str, Any]] = {}
    try:
        for key, value in tensors.items():
            if key.startswith("optimizer/"):
                _, idx, name = key.split("/", 2)
                opt_state.setdefault(int(idx), {})[name] = value
        for idx, values in scalars.items():
            opt_state.setdefault(int(idx), {}).update(values)
    except (ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path} has corrupt optimiser state: {exc}") from None
    state = {k: v for k, v in tensors.items() if not k.startswith(("optimizer/", "rng/"))}
    return Checkpoint(
        step=step,
        settings=settings,
        history=history,
        model_state={k: v for k, v in state.items() if "/" not in k},
        optimizer_state={"state": opt_state, "param_groups": groups} if groups else {},
        state=state,
        extra=extra,
    )
