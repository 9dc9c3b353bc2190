"""A shared encoder (an adapter on the engine, :mod:`neuralfields._loop`): the first layers of a field
trained jointly on ``N`` signals, each signal with a head of its own, then transferred as a starting point.

This is the idea behind STRAINER (Vyas et al., "Learning transferable features for implicit neural
representations", 2024): the early layers learn features that many signals share, and a new signal is
fitted from them with a fresh head.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .._checks import check_positive_int
from .._history import History
from .._loop import run
from .._task import StepInfo, StepOutput, Task, psnr_of_mse
from ..errors import ConfigError, DTypeError
from ..fields.base import Field
from ..grid import RandomBatches
from ._inputs import recipe, stack_signals
from .meta import member_mse

__all__ = ["train_shared_encoder", "SharedEncoderResult", "shared_parameter_names", "TRANSFER_KEY"]

TRANSFER_KEY = "init.transfer"
"""The metadata key of a starting-point file that lists the parameters to transfer (JSON list of names)."""


def shared_parameter_names(field: Field, shared_layers: int | None = None) -> list[str]:
    """Names of the shared parameters of a field with a ``layers`` list: those of its first ``shared_layers``
    layers, and every parameter outside the list (an encoding such as the hash grid's table comes before
    the layers, so it belongs to the encoder).

    ``None``: every layer but the last two (the last hidden layer and the output layer form the head), at
    least one.

    Raises:
        ConfigError: the field has no ``layers`` list, or ``shared_layers`` leaves no head.
    """
    layers = getattr(field, "layers", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ConfigError(f"a shared encoder needs a field with a 'layers' list (a Siren has one); {type(field).__name__} has none")
    n = len(layers)
    k = max(1, n - 2) if shared_layers is None else check_positive_int("shared_layers", shared_layers)
    if k >= n:
        raise ConfigError(f"shared_layers must leave at least the output layer as the head: the field has {n} layers, got {k}")
    return [name for name, _ in field.named_parameters() if not name.startswith("layers.") or int(name.split(".")[1]) < k]


@dataclass
class SharedEncoderResult:
    """The outcome of :func:`train_shared_encoder`.

    Attributes:
        field: the starting point: the trained shared layers, and the template's own head.
        shared: names of the shared (transferred) parameters.
        heads: the per-signal heads, name -> ``(N, *shape)``.
        history: ``loss`` / ``psnr`` of the mean over the signals (per signal in ``history.items``).
        steps: steps done.
        stopped_early: a callback stopped the run.

    Example:
        >>> import neuralfields as nf, os, tempfile
        >>> imgs = nf.data.load_dataset("shapes", n=4, size=8)
        >>> res = train_shared_encoder(nf.Siren(2, 1, 8, hidden_layers=3, seed=0), imgs, steps=3, progress=False)
        >>> res.shared, res.steps, res.history.num_items
        (['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias'], 3, 4)
        >>> {name: tuple(h.shape) for name, h in res.heads.items()}  # one head per signal
        {'layers.2.weight': (4, 8, 8), 'layers.2.bias': (4, 8), 'layers.3.weight': (4, 1, 8), 'layers.3.bias': (4, 1)}
        >>> path = res.save(os.path.join(tempfile.mkdtemp(), "encoder.safetensors"))
        >>> f = nf.training.resolve_init(path)(nf.Siren(2, 1, 8, hidden_layers=3, seed=7))  # the shared layers only
        >>> same = [bool(torch.equal(f.layers[i].weight, res.field.layers[i].weight)) for i in range(4)]
        >>> same  # layers 0 and 1 transferred, the head (2 and 3) the field's own
        [True, True, False, False]
    """

    field: Field
    shared: list[str]
    heads: dict[str, Tensor]
    history: History
    steps: int
    stopped_early: bool

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the starting point as one ``.safetensors`` field file; the names of the shared parameters
        go into its metadata, so that the ``"shared-encoder"`` initialisation transfers only those."""
        from ..io import save

        return save(self.field, path, metadata={"init": "shared-encoder", TRANSFER_KEY: json.dumps(self.shared)})


class _SharedTask(Task):
    def __init__(self, field: Field, shared: list[str], heads: dict[str, Tensor], coords: Tensor, targets: Tensor,
                 sampler: RandomBatches | None) -> None:  # fmt: skip
        self.model, self.shared, self.heads = field, shared, heads
        self.coords, self.targets, self.sampler = coords, targets, sampler

    def parameters(self) -> list[Tensor]:
        own = dict(self.model.named_parameters())  # type: ignore[union-attr]
        return [own[k] for k in self.shared] + list(self.heads.values())

    def params(self) -> dict[str, Tensor]:
        own, b = dict(self.model.named_parameters()), self.targets.shape[0]  # type: ignore[union-attr]
        return {**{k: own[k].unsqueeze(0).expand(b, *own[k].shape) for k in self.shared}, **self.heads}

    def step(self, step: int, lr: float) -> StepOutput:
        x, y = self.coords, self.targets
        if self.sampler is not None:
            idx = self.sampler.batch(step).to(x.device)
            x, y = x[idx], y[:, idx]
        each = member_mse(self.model, self.params(), x.unsqueeze(0).expand(y.shape[0], -1, -1), y)  # type: ignore[arg-type]
        each.sum().backward()
        losses = each.detach().tolist()
        mean = sum(losses) / len(losses)
        return StepOutput(mean, psnr_of_mse(mean), items={"loss": losses, "psnr": [psnr_of_mse(v) for v in losses]})

    def state_dict(self) -> dict[str, Tensor]:
        return {**self.model.state_dict(), **{f"task/heads/{k}": v for k, v in self.heads.items()}}  # type: ignore[union-attr]

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            for name, p in self.heads.items():
                p.copy_(state[f"task/heads/{name}"])


def train_shared_encoder(
    field: Field,
    signals: Tensor | Sequence[Tensor],
    *,
    shared_layers: int | None = None,
    steps: int = 500,
    lr: float | None = None,
    batch_size: int | None | str = "default",
    schedule: str | None = None,
    min_lr_ratio: float | None = None,
    seed: int = 0,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
) -> SharedEncoderResult:
    """Train the first layers of ``field`` jointly on ``signals``, one head per signal.

    Every signal's field is the shared layers followed by its own head (a copy of ``field``'s head to
    start); the sum of the signals' mean squared errors is minimised with :func:`~neuralfields.fit`'s
    recipe. The starting point it returns holds the shared layers and ``field``'s own (untrained) head:
    a new signal is fitted from the transferred features with a fresh head.

    Args:
        field: the architecture (left unchanged); a field with a ``layers`` list (a
            :class:`~neuralfields.Siren`).
        signals: ``(N, C, *spatial)`` in [0, 1], or a sequence of same-shape signals.
        shared_layers: how many of the first layers are shared (see :func:`shared_parameter_names`).
        steps, lr, batch_size, schedule, min_lr_ratio, seed: as in :func:`~neuralfields.fit`.
        callbacks, checkpoint, checkpoint_every, resume, progress: as in :func:`~neuralfields.fit`.

    Returns:
        A :class:`SharedEncoderResult`; ``result.save(path)`` writes the starting point.

    Example:
        >>> import neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=4, size=16)
        >>> res = nf.training.train_shared_encoder(nf.Siren(2, 1, 16, hidden_layers=3, seed=0), imgs, steps=5, progress=False)
        >>> res.shared
        ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
    """
    if not isinstance(field, Field):
        raise DTypeError(f"train_shared_encoder needs a neuralfields Field, got {type(field).__name__}")
    shared = shared_parameter_names(field, shared_layers)
    lr, batch_size, schedule, min_lr_ratio = recipe(lr, batch_size, schedule, min_lr_ratio)
    start, trained = copy.deepcopy(field), copy.deepcopy(field)
    param = next(trained.parameters())
    coords, targets = stack_signals(trained, signals)
    coords, targets = coords.to(param.device, param.dtype), targets.to(param.device, param.dtype)
    b, n = targets.shape[0], coords.shape[0]
    heads = {k: v for k, v in trained.batch_parameters(b).items() if k not in shared}
    for name, p in trained.named_parameters():
        p.requires_grad_(name in shared)
    sampler = None if batch_size is None or batch_size >= n else RandomBatches(n, batch_size, seed=seed)
    task = _SharedTask(trained, shared, heads, coords, targets, sampler)
    result = run(
        task, steps=steps, lr=lr, schedule=schedule, min_lr_ratio=min_lr_ratio, eval_every=None, callbacks=callbacks,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        settings={"shared": shared, "batch_size": batch_size, "seed": seed, "num_signals": b, "num_samples": n},
        progress=progress, desc=f"shared encoder ({b})",
    )  # fmt: skip
    with torch.no_grad():
        own = dict(trained.named_parameters())
        for name, p in start.named_parameters():
            if name in shared:
                p.copy_(own[name])
    return SharedEncoderResult(start, shared, {k: v.detach() for k, v in heads.items()}, result.history, result.steps,
                               result.stopped_early)  # fmt: skip
