"""Meta-learned starting points (an adapter on the engine, :mod:`neuralfields._loop`): learn weights from
which a few steps of fitting reach a good fit of any signal of a set.

Each meta-step draws ``meta_batch`` signals, adapts a copy of the weights to each with ``inner_steps`` steps
of the inner optimiser (all copies at once, through :meth:`~neuralfields.Field.forward_batched`), and moves
the starting point with the engine's optimiser along:

- ``"reptile"`` (Nichol et al., 2018): ``theta - mean(phi)`` as the gradient, so that a descent step moves
  the start towards the adapted weights;
- ``"fomaml"`` (first-order MAML): the gradient of the loss after adaptation at the adapted weights;
- ``"maml"`` (Finn et al., 2017): the gradient of the loss after adaptation with respect to the starting
  point, differentiating through every inner step (second order, with :func:`torch.func.grad`).

Learned initialisations of coordinate networks are Tancik et al.'s "Learned initializations for optimizing
coordinate-based neural representations" (2021). The result saves as one ``.safetensors`` file that
``fit(..., init={"name": "meta", "config": {"path": ...}})`` starts from.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .._checks import check_positive_float, check_positive_int
from .._history import History
from .._loop import run
from .._task import StepInfo, StepOutput, Task, psnr_of_mse
from ..errors import ConfigError, DTypeError, InvalidDataError
from ..fields.base import Field
from ..grid import RandomBatches
from ._inputs import stack_signals

__all__ = ["meta_learn", "MetaLearnResult", "ALGORITHMS", "INNER_OPTIMIZERS", "adapt", "member_mse"]

ALGORITHMS = ("reptile", "fomaml", "maml")
"""The meta-learning algorithms of :func:`meta_learn`."""

INNER_OPTIMIZERS = ("sgd", "adam")
"""The inner optimisers (Adam as :func:`~neuralfields.fit` uses it: betas (0.9, 0.999), eps 1e-8)."""

Params = dict[str, Tensor]


@dataclass
class MetaLearnResult:
    """The outcome of :func:`meta_learn`.

    Attributes:
        field: the learned starting point (a field of the given architecture).
        history: ``loss`` / ``psnr``: the meta-batch's mean loss after adaptation at each meta-step;
            ``val_psnr``: the same on the validation signals, where given.
        steps: meta-steps done.
        stopped_early: a callback stopped the run.
        algorithm: the algorithm used.

    Example:
        >>> import neuralfields as nf, os, tempfile
        >>> imgs = nf.data.load_dataset("shapes", n=6, size=8)
        >>> res = meta_learn(nf.Siren(2, 1, hidden_features=8, seed=0), imgs[:4], steps=3, meta_batch=2,
        ...                  val_signals=imgs[4:], eval_every=1, progress=False)
        >>> res.steps, res.algorithm, res.history.val_step, type(res.field).__name__
        (3, 'reptile', [1, 2, 3], 'Siren')
        >>> path = res.save(os.path.join(tempfile.mkdtemp(), "start.safetensors"))  # a starting point for init=
        >>> f = nf.training.resolve_init(path)(nf.Siren(2, 1, hidden_features=8, seed=5))
        >>> all(torch.equal(a, b) for a, b in zip(f.parameters(), res.field.parameters()))
        True
    """

    field: Field
    history: History
    steps: int
    stopped_early: bool
    algorithm: str

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the starting point as one ``.safetensors`` field file (:func:`neuralfields.save`)."""
        from ..io import save

        return save(self.field, path, metadata={"init": f"meta/{self.algorithm}"})


def member_mse(field: Field, params: Mapping[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
    """Per-member mean squared error ``(B,)`` of batched ``params`` on ``x (B, N, d)``, ``y (B, N, C)``."""
    return ((field.forward_batched(params, x) - y) ** 2).mean((1, 2))


def adapt(
    field: Field, params: Params, x: Tensor, y: Tensor, *, steps: int, optimizer: str = "sgd", lr: float = 1e-2,
    differentiable: bool = False,
) -> Params:  # fmt: skip
    """``steps`` steps of the inner optimiser on batched parameters, every member on its own signal.

    Args:
        field: the architecture.
        params: name -> ``(B, *shape)``, the starting weights of each member.
        x: coordinates ``(B, N, d)``; y: targets ``(B, N, C)`` on the field's scale.
        steps, optimizer, lr: the inner loop (``"sgd"`` or ``"adam"``); each member minimises its own mean
            squared error.
        differentiable: keep the graph from ``params`` to the result (second-order MAML); otherwise the
            result is detached.

    Returns:
        The adapted parameters, name -> ``(B, *shape)``.
    """
    if optimizer not in INNER_OPTIMIZERS:
        raise ConfigError(f"unknown inner optimizer {optimizer!r}; use one of {INNER_OPTIMIZERS}")

    def total(p: Params) -> Tensor:  # members are independent: the gradient of the sum is each one's own
        return member_mse(field, p, x, y).sum()

    grad_of = torch.func.grad(total)
    phi = dict(params) if differentiable else {k: v.detach() for k, v in params.items()}
    m = {k: torch.zeros_like(v) for k, v in phi.items()}
    v2 = {k: torch.zeros_like(v) for k, v in phi.items()}
    for t in range(1, steps + 1):
        g = grad_of(phi)
        if not differentiable:
            g = {k: d.detach() for k, d in g.items()}
        if optimizer == "sgd":
            phi = {k: p - lr * g[k] for k, p in phi.items()}
            continue
        m = {k: 0.9 * m[k] + 0.1 * g[k] for k in phi}
        v2 = {k: 0.999 * v2[k] + 0.001 * g[k] ** 2 for k in phi}
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        # the tiny term keeps sqrt differentiable where a gradient is exactly 0 (unvisited hash-grid rows,
        # dead ReLU units): second-order MAML would get 0 * inf = NaN there; it changes no value measurably
        phi = {k: p - lr * (m[k] / c1) / ((v2[k] / c2 + 1e-30).sqrt() + 1e-8) for k, p in phi.items()}
    return phi


class _MetaTask(Task):
    def __init__(self, field: Field, targets: Tensor, coords: Tensor, val: Tensor | None, algorithm: str, inner: dict,
                 tasks: RandomBatches, samples: RandomBatches | None) -> None:  # fmt: skip
        self.model, self.targets, self.coords, self.val = field, targets, coords, val
        self.algorithm, self.inner, self.tasks, self.samples = algorithm, inner, tasks, samples

    def _batch(self, step: int, targets: Tensor, members: Tensor) -> tuple[Tensor, Tensor]:
        coords, y = self.coords, targets[members]
        if self.samples is not None:
            idx = self.samples.batch(step).to(coords.device)
            coords, y = coords[idx], y[:, idx]
        return coords.unsqueeze(0).expand(y.shape[0], -1, -1), y

    def _start(self, b: int) -> Params:
        return {k: p.unsqueeze(0).expand(b, *p.shape) for k, p in self.model.named_parameters()}  # type: ignore[union-attr]

    def step(self, step: int, lr: float) -> StepOutput:
        members = self.tasks.batch(step).to(self.targets.device)
        x, y = self._batch(step, self.targets, members)
        field: Field = self.model  # type: ignore[assignment]
        theta = dict(field.named_parameters())
        b = y.shape[0]
        if self.algorithm == "maml":
            phi = adapt(field, self._start(b), x, y, differentiable=True, **self.inner)
            losses = member_mse(field, phi, x, y)
            losses.mean().backward()
        else:
            phi = adapt(field, self._start(b), x, y, **self.inner)
            if self.algorithm == "reptile":
                with torch.no_grad():
                    losses = member_mse(field, phi, x, y)
                for k, p in theta.items():
                    p.grad = p.detach() - phi[k].mean(0)
            else:
                leaves = {k: v.requires_grad_(True) for k, v in phi.items()}
                losses = member_mse(field, leaves, x, y)
                grads = torch.autograd.grad(losses.mean(), list(leaves.values()))
                for (k, p), g in zip(theta.items(), grads):
                    p.grad = g.sum(0)  # d mean_b L_b / d theta through the identity map to every member
        each = losses.detach().tolist()
        mean = sum(each) / b
        return StepOutput(mean, psnr_of_mse(mean))

    def evaluate(self) -> dict[str, float]:
        if self.val is None:
            return {}
        field: Field = self.model  # type: ignore[assignment]
        x = self.coords.unsqueeze(0).expand(self.val.shape[0], -1, -1)
        phi = adapt(field, self._start(self.val.shape[0]), x, self.val, **self.inner)
        with torch.no_grad():
            return {"psnr": psnr_of_mse(float(member_mse(field, phi, x, self.val).mean()))}


def meta_learn(
    field: Field,
    signals: Tensor | Sequence[Tensor],
    *,
    algorithm: str = "reptile",
    inner_steps: int = 5,
    inner_optimizer: str = "adam",
    inner_lr: float = 1e-3,
    meta_batch: int = 4,
    steps: int = 200,
    lr: float = 1e-4,
    batch_size: int | None = None,
    val_signals: Tensor | Sequence[Tensor] | None = None,
    eval_every: int = 20,
    seed: int = 0,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
) -> MetaLearnResult:
    """Learn a starting point for fitting signals like ``signals`` (Reptile, first-order or full MAML).

    Args:
        field: the architecture and the meta-learning's start (left unchanged).
        signals: the training signals ``(N, C, *spatial)`` in [0, 1] (or a sequence of same-shape signals);
            keep the signals you will test on out of them.
        algorithm: ``"reptile"``, ``"fomaml"`` or ``"maml"`` (see the module's docs).
        inner_steps, inner_optimizer, inner_lr: the adaptation to each signal (``"adam"`` or ``"sgd"``); the
            defaults match the first steps of :func:`~neuralfields.fit`'s default recipe.
        meta_batch: signals per meta-step (at most ``N``).
        steps, lr: meta-steps and the learning rate of the outer optimiser (Adam, constant).
        batch_size: samples of each signal per meta-step (one random subset for the inner steps and the
            loss after them); ``None``: all samples.
        val_signals: signals to report the adapted PSNR on every ``eval_every`` steps (``history.val_psnr``).
        seed: seed of the meta-batches and sample subsets.
        callbacks, checkpoint, checkpoint_every, resume, progress: as in :func:`~neuralfields.fit`.

    Returns:
        A :class:`MetaLearnResult`; ``result.save(path)`` writes the starting point.

    Example:
        >>> import neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=8, size=16)
        >>> res = nf.training.meta_learn(nf.Siren(2, 1, 16, seed=0), imgs, steps=5, progress=False)
        >>> res.steps, type(res.field).__name__
        (5, 'Siren')
    """
    if not isinstance(field, Field):
        raise DTypeError(f"meta_learn needs a neuralfields Field, got {type(field).__name__}")
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"unknown meta-learning algorithm {algorithm!r}; use one of {ALGORITHMS}")
    if inner_optimizer not in INNER_OPTIMIZERS:
        raise ConfigError(f"unknown inner optimizer {inner_optimizer!r}; use one of {INNER_OPTIMIZERS}")
    inner = {"steps": check_positive_int("inner_steps", inner_steps), "optimizer": inner_optimizer,
             "lr": check_positive_float("inner_lr", inner_lr)}  # fmt: skip
    check_positive_int("meta_batch", meta_batch)
    field = copy.deepcopy(field)
    param = next(field.parameters())
    coords, targets = stack_signals(field, signals)
    coords, targets = coords.to(param.device, param.dtype), targets.to(param.device, param.dtype)
    n = targets.shape[0]
    if meta_batch > n:
        raise InvalidDataError(f"meta_batch {meta_batch} is more than the {n} training signals")
    val = None
    if val_signals is not None:
        val_coords, val = stack_signals(field, val_signals)
        if val_coords.shape != coords.shape:
            raise InvalidDataError("val_signals must have the training signals' shape")
        val = val.to(param.device, param.dtype)
    samples = None
    if batch_size is not None and check_positive_int("batch_size", batch_size) < coords.shape[0]:
        samples = RandomBatches(coords.shape[0], batch_size, seed=seed + 1)
    task = _MetaTask(field, targets, coords, val, algorithm, inner, RandomBatches(n, meta_batch, seed=seed), samples)
    result = run(
        task, steps=steps, lr=lr, schedule="constant", eval_every=eval_every, callbacks=callbacks,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        settings={"algorithm": algorithm, **{f"inner_{k}": v for k, v in inner.items()}, "meta_batch": meta_batch,
                  "batch_size": batch_size, "seed": seed, "num_signals": n},  # fmt: skip
        progress=progress, desc=f"meta_learn ({algorithm})",
    )  # fmt: skip
    field.zero_grad(set_to_none=True)
    return MetaLearnResult(field, result.history, result.steps, result.stopped_early, algorithm)
