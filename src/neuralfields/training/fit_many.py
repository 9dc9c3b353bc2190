"""Fit many independent fields at once: one parameter set per signal, one batched computation (an adapter on
the engine, :mod:`neuralfields._loop`)."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .._history import History
from .._loop import run
from .._task import StepInfo, StepOutput, Task, psnr_of_mse
from ..errors import DTypeError, InvalidDataError
from ..fields.base import Field
from ..grid import RandomBatches, holdout_mask
from ._inputs import recipe, stack_signals
from .init import InitLike, resolve_init
from .losses import LossFn, loss_setting, resolve_loss
from .step import accumulate_mse_grad

__all__ = ["fit_many", "FitManyResult"]

_EVAL_CHUNK = 65536


@dataclass
class FitManyResult:
    """The outcome of :func:`fit_many`.

    Attributes:
        template: the field whose architecture (and buffers) every member shares; its weights are the first
            member's start.
        params: the fitted parameters, name -> ``(B, *shape)``.
        history: the whole run's :class:`~neuralfields.History`: ``loss`` / ``psnr`` of the mean over the
            members, and per member in ``history.items["loss"]`` / ``history.items["psnr"]``.
        psnr: per signal, the PSNR on its training samples after the last step ([0, 1] scale).
        steps: steps done.
        stopped_early: a callback stopped the fit before ``steps``.

    Example:
        >>> import neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=2, size=8)
        >>> res = nf.fit_many(nf.Siren(2, 1, hidden_features=8, seed=0), imgs, steps=5, progress=False)
        >>> len(res), res.steps, tuple(res.params["layers.0.weight"].shape), res.val_psnr is None
        (2, 5, (2, 8, 2), True)
        >>> f = res.field(1)  # member 1 as an ordinary Siren: its PSNR is the one the fit reported
        >>> abs(nf.psnr(nf.render(f, (8, 8)), imgs[1]) - res.psnr[1]) < 1e-3
        True
    """

    template: Field
    params: dict[str, Tensor]
    history: History
    psnr: list[float]
    steps: int
    stopped_early: bool = False
    val_psnr: list[float] | None = None
    """Per signal, the PSNR on its held-out samples after the last step (``None`` without a hold-out)."""

    def __len__(self) -> int:
        return len(self.psnr)

    @property
    def histories(self) -> list[History]:
        """One :class:`~neuralfields.History` per member (its ``time`` is the member's share of the step:
        the step's wall time divided by ``B``)."""
        return [self.history.item(i) for i in range(len(self))]

    def field(self, index: int) -> Field:
        """Member ``index`` as an ordinary field (a copy), to render, save or fine-tune."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} fitted fields")
        return self.template.unbatch(self.params, index % len(self))

    def fields(self) -> list[Field]:
        """All members as ordinary fields."""
        return [self.field(i) for i in range(len(self))]


class _ManyTask(Task):
    """``B`` fields as one batched parameter dict; every member sees the same coordinates."""

    def __init__(self, field: Field, params: dict[str, Tensor], train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor],
                 sampler: RandomBatches | None, loss: LossFn | None) -> None:  # fmt: skip
        self.model, self.params, self.loss = field, params, loss
        (self.coords, self.targets), self.val, self.sampler = train, val, sampler

    def parameters(self) -> list[Tensor]:
        return list(self.params.values())

    def step(self, step: int, lr: float) -> StepOutput:
        if self.sampler is None:
            x, y = self.coords, self.targets
        else:
            idx = self.sampler.batch(step).to(self.coords.device)
            x, y = self.coords[idx], self.targets[:, idx]
        b, per = y.shape[0], float(y[0].numel())
        xs = x.unsqueeze(0).expand(b, -1, -1)
        if self.loss is None:  # the family's fast step, every member at once
            losses = (accumulate_mse_grad(self.model, xs, y, per, params=self.params) / per).tolist()  # type: ignore[arg-type]
        else:
            pred = self.model.forward_batched(self.params, xs)  # type: ignore[union-attr]
            each = torch.stack([self.loss(pred[i], y[i]) for i in range(b)])
            each.sum().backward()
            losses = each.detach().tolist()
            mean = sum(losses) / b
            return StepOutput(mean, items={"loss": losses})
        mean = sum(losses) / b
        return StepOutput(mean, psnr_of_mse(mean), items={"loss": losses, "psnr": [psnr_of_mse(v) for v in losses]})

    def state_dict(self) -> dict[str, Tensor]:
        return {**self.model.state_dict(), **{f"task/params/{k}": v for k, v in self.params.items()}}  # type: ignore[union-attr]

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(state[f"task/params/{name}"])

    def evaluate(self) -> dict[str, float]:
        if not self.val[0].shape[0]:
            return {}
        return {"psnr": psnr_of_mse(float(self.member_mse(*self.val).mean()))}

    @torch.no_grad()
    def member_mse(self, coords: Tensor, targets: Tensor) -> Tensor:
        """Per-member mean squared error ``(B,)`` on ``coords (N, d)``, ``targets (B, N, C)``."""
        b, n = targets.shape[0], coords.shape[0]
        total = []
        for s in range(0, n, _EVAL_CHUNK):
            xs = coords[s : s + _EVAL_CHUNK].unsqueeze(0).expand(b, -1, -1)
            d = self.model.forward_batched(self.params, xs) - targets[:, s : s + _EVAL_CHUNK]  # type: ignore[union-attr]
            total.append((d.double() ** 2).sum((1, 2)))
        return torch.stack(total).sum(0) / (n * targets.shape[2])


def _initialised(strategy: Callable[[Field], object], field: Field) -> Field:
    new = copy.deepcopy(field)
    strategy(new)
    return new


def _start_params(fields: Sequence[Field], b: int) -> dict[str, Tensor]:
    """One field's weights per member, stacked ``(B, *shape)`` (same architecture for all)."""
    if len(fields) != b:
        raise InvalidDataError(f"fit_many got {len(fields)} starting fields for {b} signals; give one per signal")
    from .init import architecture

    first = dict(fields[0].named_parameters())
    params = set(first)
    buffers = {k: v for k, v in fields[0].state_dict().items() if k not in params}
    for i, f in enumerate(fields[1:], 1):
        if architecture(f) != architecture(fields[0]):
            raise InvalidDataError(
                f"fit_many's starting fields must share one architecture (family, config but the seed, shapes): "
                f"field {i} ({type(f).__name__}) differs from field 0 ({type(fields[0]).__name__})"
            )
        own = {k: v for k, v in f.state_dict().items() if k not in params}
        if any(not torch.equal(own[k], v) for k, v in buffers.items()):
            raise InvalidDataError(
                f"fit_many's starting fields must share their buffers (e.g. a Fourier-feature matrix): field {i}'s "
                f"differ from field 0's, and every member is evaluated with field 0's"
            )
    return {name: torch.stack([dict(f.named_parameters())[name].detach() for f in fields]).requires_grad_(True) for name in first}


def fit_many(
    field: Field | Sequence[Field],
    signals: Tensor | Sequence[Tensor],
    *,
    steps: int = 500,
    lr: float | None = None,
    batch_size: int | None | str = "default",
    schedule: str | None = None,
    min_lr_ratio: float | None = None,
    loss: str | LossFn = "mse",
    init: InitLike = None,
    holdout: float = 0.0,
    eval_every: int = 10,
    value_range: tuple[float, float] | None = None,
    seed: int = 0,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
) -> FitManyResult:
    """Fit ``B`` independent copies of ``field``, one per signal, in one batched computation.

    Every member starts from ``field``'s weights and sees the same coordinates at each step (the same
    random batches as :func:`~neuralfields.fit` with this ``seed``), so member ``i`` follows the fit
    ``fit(copy.deepcopy(field), signals[i], seed=seed)`` would (to rounding): Adam works element by
    element and the loss is the sum of the per-signal mean squared errors. The batched evaluation is
    :meth:`~neuralfields.Field.forward_batched` (for a :class:`~neuralfields.Siren` on the CPU, the
    hand-written step of :func:`~neuralfields.training.accumulate_mse_grad`): per-call overhead is paid
    once for all ``B``.

    Args:
        field: the template every member starts from (left unchanged), or one field per signal, all of one
            architecture, each member starting from its own (left unchanged too).
        signals: ``(B, C, *spatial)`` in [0, 1], or a sequence of same-shape signals.
        steps, lr, batch_size, schedule, min_lr_ratio, loss, seed: as in :func:`~neuralfields.fit` (a
            custom ``loss`` is applied to each member and the sum is minimised, with autograd).
        init: an initialisation strategy applied to a copy of ``field`` that every member starts from (see
            :func:`~neuralfields.fit`); with one field per signal, to a copy of each (a seeded strategy such
            as ``"paper"`` then gives every member the same start); ``None`` starts from the given weights.
        holdout: fraction of the samples held out of every member's training (the same samples for all,
            as :func:`~neuralfields.fit` would hold out with this ``seed``); ``history.val_psnr`` is the
            PSNR of the members' mean held-out error, ``result.val_psnr`` each member's at the end.
        eval_every: evaluate the held-out samples every this many steps (and at the end).
        value_range: the signals' value range, mapped onto the field's [-1, 1] (see :func:`~neuralfields.fit`).
        callbacks: called after each step with a :class:`~neuralfields.training.StepInfo` (its ``items``
            hold each member's ``loss`` and ``psnr``); one returning ``True`` stops the fit.
        checkpoint, checkpoint_every, resume: as in :func:`~neuralfields.fit` (bit-identical resume on
            the CPU).
        progress: show a progress bar (only when stderr is a terminal).

    Returns:
        A :class:`FitManyResult`; ``result.field(i)`` is member ``i`` as an ordinary field.

    Example:
        >>> import neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=3, size=16)
        >>> res = nf.fit_many(nf.Siren(2, 1, hidden_features=16, seed=0), imgs, steps=30, progress=False)
        >>> len(res), [len(h) for h in res.histories], type(res.field(0)).__name__
        (3, [30, 30, 30], 'Siren')
    """
    starts = list(field) if isinstance(field, Sequence) else None
    if starts is not None and not starts:
        raise InvalidDataError("fit_many got an empty list of starting fields")
    for f in starts or [field]:
        if not isinstance(f, Field):
            raise DTypeError(f"fit_many needs a neuralfields Field (or one per signal), got {type(f).__name__}")
    lr, batch_size, schedule, min_lr_ratio = recipe(lr, batch_size, schedule, min_lr_ratio)
    strategy = resolve_init(init)
    if strategy is not None:  # the caller's fields stay as they are
        starts = [_initialised(strategy, f) for f in starts] if starts is not None else None
        field = field if starts is not None else _initialised(strategy, field)  # type: ignore[arg-type]
    if starts is not None:
        field = copy.deepcopy(starts[0])
    param = next(field.parameters())
    coords, targets = stack_signals(field, signals, value_range)
    coords, targets = coords.to(param.device, param.dtype), targets.to(param.device, param.dtype)
    b, n = targets.shape[0], coords.shape[0]
    held = holdout_mask((n,), holdout, seed=seed).to(coords.device)
    train_idx, val_idx = (~held).nonzero().squeeze(1), held.nonzero().squeeze(1)
    if train_idx.numel() == 0:
        raise InvalidDataError("no samples are left for training after the hold-out")
    t = train_idx.numel()
    sampler = None if batch_size is None or batch_size >= t else RandomBatches(t, batch_size, seed=seed)
    train, val = (coords[train_idx], targets[:, train_idx]), (coords[val_idx], targets[:, val_idx])
    params = field.batch_parameters(b) if starts is None else _start_params(starts, b)
    task = _ManyTask(field, params, train, val, sampler, resolve_loss(loss))
    result = run(
        task, steps=steps, lr=lr, schedule=schedule, min_lr_ratio=min_lr_ratio, eval_every=eval_every, callbacks=callbacks,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        settings={"batch_size": batch_size, "holdout": holdout, "seed": seed, "num_signals": b, "num_samples": n,
                  **loss_setting(loss)},  # fmt: skip
        progress=progress, desc=f"fit_many ({b})",
    )  # fmt: skip
    psnr = [psnr_of_mse(float(m)) for m in task.member_mse(*train)]
    val_psnr = [psnr_of_mse(float(m)) for m in task.member_mse(*val)] if val_idx.numel() else None
    detached = {k: v.detach() for k, v in task.params.items()}
    return FitManyResult(field, detached, result.history, psnr, result.steps, result.stopped_early, val_psnr)
