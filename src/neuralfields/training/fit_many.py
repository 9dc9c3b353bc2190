"""Fit many independent fields at once: one parameter set per signal, one batched computation."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .._allocator import keep_freed_memory
from .._progress import progress_bar
from ..errors import DTypeError, InvalidDataError, ShapeError
from ..fields.base import Field
from ..grid import RandomBatches
from .fit import _check_loop, _prepare, _psnr_of_mse, _recipe, _record, lr_at
from .history import History

__all__ = ["fit_many", "FitManyResult"]


@dataclass
class FitManyResult:
    """The outcome of :func:`fit_many`.

    Attributes:
        template: the field whose architecture (and initial weights) every member shares.
        params: the fitted parameters, name -> ``(B, *shape)``.
        histories: one :class:`~neuralfields.History` per signal (its ``time`` is each member's share
            of the step: the step's wall time divided by ``B``).
        psnr: per signal, the PSNR on all its samples after the last step ([0, 1] scale).
        steps: steps done.
    """

    template: Field
    params: dict[str, Tensor]
    histories: list[History]
    psnr: list[float]
    steps: int

    def __len__(self) -> int:
        return len(self.histories)

    def field(self, index: int) -> Field:
        """Member ``index`` as an ordinary field (a copy), to render, save or fine-tune."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} fitted fields")
        return self.template.unbatch(self.params, index % len(self))

    def fields(self) -> list[Field]:
        """All members as ordinary fields."""
        return [self.field(i) for i in range(len(self))]


def _stack(field: Field, signals: Tensor | Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Shared coordinates ``(N, d)`` and targets ``(B, N, C)`` on the field's scale."""
    if isinstance(signals, Tensor):
        if not signals.is_floating_point():
            raise DTypeError(f"signals must be floating point in [0, 1], got {signals.dtype}")
        if signals.dim() < 3:
            raise ShapeError(f"signals must be (B, C, *spatial), e.g. images (B, C, H, W), got {tuple(signals.shape)}")
        items = list(signals)
    else:
        items = list(signals)
    if not items:
        raise InvalidDataError("no signals to fit")
    shapes = {tuple(s.shape) for s in items if isinstance(s, Tensor)}
    if len(shapes) != 1 or len(items) != sum(isinstance(s, Tensor) for s in items):
        raise ShapeError(f"fit_many needs signals of one shape (C, *spatial), got shapes {sorted(shapes)}")
    coords = None
    targets = []
    for s in items:
        c, t, _ = _prepare(field, s)
        coords = c if coords is None else coords
        targets.append(t)
    assert coords is not None
    return coords, torch.stack(targets)


def fit_many(
    field: Field,
    signals: Tensor | Sequence[Tensor],
    *,
    steps: int = 500,
    lr: float | None = None,
    batch_size: int | None | str = "default",
    schedule: str | None = None,
    min_lr_ratio: float | None = None,
    seed: int = 0,
    progress: bool = True,
) -> FitManyResult:
    """Fit ``B`` independent copies of ``field``, one per signal, in one batched computation.

    Every member starts from ``field``'s weights and sees the same coordinates at each step (the same
    random batches as :func:`~neuralfields.fit` with this ``seed``), so member ``i`` follows the fit
    ``fit(copy.deepcopy(field), signals[i], seed=seed)`` would (to rounding): Adam works element by
    element and the loss is the sum of the per-signal mean squared errors. The batched evaluation is
    :meth:`~neuralfields.Field.forward_batched` (for a :class:`~neuralfields.Siren` on the CPU, the
    hand-written step of :meth:`~neuralfields.Field.accumulate_mse_grad`): per-call overhead is paid
    once for all ``B``.

    Args:
        field: the template (left unchanged).
        signals: ``(B, C, *spatial)`` in [0, 1], or a sequence of same-shape signals.
        steps, lr, batch_size, schedule, min_lr_ratio, seed: as in :func:`~neuralfields.fit`.
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
    if not isinstance(field, Field):
        raise DTypeError(f"fit_many needs a neuralfields Field, got {type(field).__name__}")
    lr, batch_size, schedule, min_lr_ratio = _recipe(lr, batch_size, schedule, min_lr_ratio)
    _check_loop(steps, lr, 1)
    param = next(field.parameters())
    coords, targets = _stack(field, signals)
    coords, targets = coords.to(param.device, param.dtype), targets.to(param.device, param.dtype)
    b, n = targets.shape[0], coords.shape[0]
    full_batch = batch_size is None or batch_size >= n
    sampler = None if full_batch else RandomBatches(n, batch_size, seed=seed)
    params = field.batch_parameters(b)
    keep_freed_memory()  # no page faults on fresh memory every step (see neuralfields._allocator)
    optimizer = torch.optim.Adam(params.values(), lr=lr)
    histories = [History() for _ in range(b)]
    bar = progress_bar(progress, steps, f"fit_many ({b})")
    try:
        for step in range(steps):
            t0 = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, steps, lr, schedule, min_lr_ratio)
            if full_batch:
                x, y = coords, targets
            else:
                idx = sampler.batch(step).to(param.device)  # type: ignore[union-attr]
                x, y = coords[idx], targets[:, idx]
            optimizer.zero_grad(set_to_none=True)
            xs = x.unsqueeze(0).expand(b, -1, -1)
            per_item = field.accumulate_mse_grad(xs, y, float(y[0].numel()), params=params) / y[0].numel()
            optimizer.step()
            losses = per_item.tolist()
            if not all(math.isfinite(v) for v in losses):
                raise InvalidDataError(f"a loss became non-finite at step {step + 1}; lower the learning rate (lr={lr})")
            elapsed = (time.perf_counter() - t0) / b
            for h, v in zip(histories, losses):
                _record(h, step + 1, v, elapsed)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    with torch.no_grad():
        final = []
        for s in range(0, n, 65536):
            xs = coords[s : s + 65536].unsqueeze(0).expand(b, -1, -1)
            final.append(((field.forward_batched(params, xs) - targets[:, s : s + 65536]).double() ** 2).sum((1, 2)))
        mse = torch.stack(final).sum(0) / (n * targets.shape[2])
    detached = {k: v.detach() for k, v in params.items()}
    return FitManyResult(field, detached, histories, [_psnr_of_mse(float(m)) for m in mse], steps)
