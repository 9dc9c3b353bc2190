"""Train a :class:`~neuralfields.HyperSiren` to reconstruct images: :func:`fit_hyper`, an adapter on the
engine (:mod:`neuralfields._loop`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from .._checks import check_positive_int, check_seed
from .history import TrainResult
from .._loop import run
from .._task import StepInfo, StepOutput, Task, psnr_of_mse
from ..conditioning.hyper import HyperSiren
from ..errors import ConfigError, DTypeError
from ..fields.render import from_unit
from ..grid import RandomBatches
from ._inputs import stack_images

__all__ = ["fit_hyper", "HyperFitResult"]


@dataclass
class HyperFitResult(TrainResult):
    """What :func:`fit_hyper` recorded.

    Attributes:
        history: per step the batch's loss (``loss``: reconstruction MSE on the [-1, 1] scale plus the
            weighted latent loss), its PSNR (``psnr``: [0, 1] scale, before the update) and the step time;
            the test PSNR (``val_psnr``) at ``val_step`` (0: before training).
        stopped_early: a callback stopped the run before ``steps``.

    Example:
        >>> import neuralfields as nf
        >>> m = nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, encoder_width=4, seed=0)
        >>> x = nf.data.load_dataset("shapes", n=6, size=8)
        >>> res = fit_hyper(m, x[:4], steps=3, batch_size=2, test_images=x[4:], progress=False)
        >>> res.steps, len(res.train_loss), res.test_step, res.test_psnr_final == res.test_psnr[-1]
        (3, 3, [0, 1, 2, 3], True)
    """

    @property
    def train_loss(self) -> list[float]:
        """Per step, the loss of its batch (``history.loss``)."""
        return self.history.loss

    @property
    def train_psnr(self) -> list[float]:
        """Per step, the PSNR of its batch's reconstructions (``history.psnr``)."""
        return self.history.psnr

    @property
    def test_step(self) -> list[int]:
        """Steps at which the test images were evaluated (``history.val_step``; 0: before training)."""
        return self.history.val_step

    @property
    def test_psnr(self) -> list[float]:
        """PSNR over all test images at those steps (``history.val_psnr``)."""
        return self.history.val_psnr

    @property
    def test_psnr_final(self) -> float | None:
        """The test PSNR after the last step (``None`` without test images)."""
        return self.history.val_psnr[-1] if self.history.val_psnr else None

    @property
    def time_per_step(self) -> float:
        """Mean wall time of an update in seconds (evaluations excluded)."""
        return self.history.elapsed / len(self.history) if len(self.history) else 0.0


def _encode(model: HyperSiren, x: Tensor, context_fraction: float | None, gen: torch.Generator) -> Tensor:
    if context_fraction is None:
        return model.encode(x)
    return model.encode_context(*model.context_from_images(x, context_fraction, gen))


@torch.no_grad()
def _test_psnr(model: HyperSiren, images: Tensor, batch_size: int, context_fraction: float | None, seed: int) -> float:
    """PSNR of the pooled squared error of the reconstructions of ``images`` (fixed contexts from ``seed``)."""
    gen = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for s in range(0, images.shape[0], batch_size):
        x = images[s : s + batch_size]
        pred = model.decode(_encode(model, x, context_fraction, gen), tuple(x.shape[-2:]))
        total += float(((pred.double() - x.double()) ** 2).sum())
        count += x.numel()
    return psnr_of_mse(total / count, data_range=1.0)


class _HyperTask(Task):
    """The adapter: a batch of images per step, encoded (or a fresh random context of each) and decoded."""

    def __init__(
        self, model: HyperSiren, train: Tensor, test: Tensor | None, batch_size: int, context_fraction: float | None,
        latent_loss: Callable[[Tensor], Tensor] | None, moment_weight: float, seed: int,
    ) -> None:  # fmt: skip
        self.model = model
        self.shape = tuple(train.shape[-2:])
        self.train, self.test = train, test
        self.batch_size, self.context_fraction, self.seed = batch_size, context_fraction, seed
        self.latent_loss, self.moment_weight = latent_loss, moment_weight
        self.batches = RandomBatches(train.shape[0], batch_size, seed=seed)
        self.gen = torch.Generator().manual_seed(seed)  # the contexts' RNG (checkpointed)

    def step(self, step: int, lr: float) -> StepOutput:
        model = self.model
        batch = self.train[self.batches.batch(step).to(self.train.device)]
        if batch.shape[0] < 2 and self.moment_weight > 0:  # the short last batch of an epoch: moments need two codes
            batch = self.train[self.batches.batch(step + 1).to(self.train.device)]
        part = self.part(len(batch))  # this process's images (all of them in one process)
        x, share = batch[part], len(batch[part]) / len(batch)
        if self.context_fraction is None:
            latent = model.encode(x) if len(x) else None
        else:  # the whole batch's contexts are drawn in every process: the draws of one process
            coords, values = model.context_from_images(batch, self.context_fraction, self.gen)
            latent = model.encode_context(coords[part], values[part]) if len(x) else None
        mse = torch.mean((model.field_values(latent, self.shape) - from_unit(x)) ** 2) if latent is not None else None
        loss, metrics = mse, {}
        if self.moment_weight > 0 and self.latent_loss is not None:  # of the whole batch's codes
            codes = latent if latent is not None else batch.new_zeros(0, model.latent_dim)
            extra = self.latent_loss(self.gather(codes))
            metrics["latent_loss"] = float(extra.detach())
            # under data parallelism divided by the share: the engine weights this process's gradient by it
            loss = None if mse is None else mse + self.moment_weight * (extra if share == 1.0 else extra / share)
        if mse is None or loss is None:
            return StepOutput(0.0, metrics=metrics, share=0.0)
        loss.backward()
        value = float(loss.detach()) if share == 1.0 else float(mse.detach()) + self.moment_weight * metrics.get("latent_loss", 0.0)
        return StepOutput(value, psnr=psnr_of_mse(float(mse.detach()) / 4.0, data_range=1.0), metrics=metrics, share=share)

    def evaluate(self) -> dict[str, float]:
        if self.test is None:
            return {}
        return {"psnr": _test_psnr(self.model, self.test, self.batch_size, self.context_fraction, self.seed + 1)}

    def state_dict(self) -> dict[str, Tensor]:
        return {**self.model.state_dict(), "task/rng": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        if "task/rng" not in state:
            raise KeyError("the checkpoint has no 'task/rng' (the contexts' random state)")
        self.gen.set_state(state["task/rng"].to(torch.uint8).cpu())


def fit_hyper(
    model: HyperSiren,
    train_images: Tensor,
    *,
    steps: int,
    lr: float = 1e-3,
    schedule: str = "constant",
    min_lr_ratio: float = 0.01,
    batch_size: int = 32,
    context_fraction: float | None = None,
    latent_loss: Callable[[Tensor], Tensor] | None = None,
    moment_weight: float = 0.0,
    seed: int = 0,
    test_images: Tensor | None = None,
    eval_every: int | None = None,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
    data_parallel: bool = True,
) -> HyperFitResult:
    """Train a :class:`~neuralfields.HyperSiren` (in place) to reconstruct images, with Adam.

    The loss is the MSE of the reconstructions on the field's [-1, 1] scale (as in
    :func:`~neuralfields.fit`), plus ``moment_weight * latent_loss(latent)`` when ``moment_weight > 0``.
    The intended latent loss is :func:`neuralfields.priors.moment_matching_loss` with ``latent="sigmoid"``,
    which pulls the codes towards ``U[0, 1]^d`` so that :meth:`~neuralfields.HyperSiren.sample` draws
    plausible codes.

    Under a ``torch.distributed`` process group of several processes (``torchrun``), the training is
    data-parallel: each process computes its part of every batch, the gradients are summed over the
    processes and rank 0 alone writes checkpoints (see the "Scaling out" page of the docs).

    Args:
        model: the model to train.
        train_images: ``(N, C, H, W)`` in [0, 1].
        steps: number of updates.
        lr: Adam's (initial) learning rate.
        schedule: ``"constant"`` (default) or ``"cosine"`` (anneals to ``lr * min_lr_ratio``).
        min_lr_ratio: final / initial learning rate of the cosine schedule.
        batch_size: images per step (drawn without replacement within an epoch).
        context_fraction: with the ``"set"`` encoder, encode a fresh random subset of this fraction of each
            image's pixels every step (the loss is on all pixels); ``None``: every pixel is context.
        latent_loss: a differentiable function of the batch's codes ``(B, latent_dim)`` -> scalar.
        moment_weight: weight of ``latent_loss`` (0 turns it off).
        seed: seed of the batch order and the contexts (a :class:`torch.Generator` of this run; the
            global RNG is not used).
        test_images: ``(M, C, H, W)`` evaluated before training, every ``eval_every`` steps and at the end
            (with ``context_fraction``, on a fixed random context of each image).
        eval_every: steps between test evaluations (default ``max(1, steps // 10)``).
        callbacks: called after each step with a :class:`~neuralfields.StepInfo`; one returning ``True``
            stops the training.
        checkpoint: write a training checkpoint here at the end (and every ``checkpoint_every`` steps).
        checkpoint_every: steps between checkpoints.
        resume: a checkpoint to resume from, or ``True`` to resume from ``checkpoint`` if it exists (the
            same settings; the run continues bit-identically on the CPU).
        progress: show a progress bar (only when stderr is a terminal).
        data_parallel: under a ``torch.distributed`` process group of several processes, train
            data-parallel (the default: the same call in every process, see the note above); ``False``
            trains each process on its own.

    Returns:
        A :class:`HyperFitResult`.

    Raises:
        NonFiniteLossError: the loss became NaN or infinite (lower ``lr``).
        CheckpointError: ``resume`` from a checkpoint of other settings or another model.

    Example:
        >>> import neuralfields as nf
        >>> m = nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, encoder_width=4, seed=0)
        >>> x = nf.data.load_dataset("shapes", n=6, size=8)
        >>> res = fit_hyper(m, x[:4], steps=3, batch_size=2, test_images=x[4:], progress=False)
        >>> res.steps, res.test_step
        (3, [0, 1, 2, 3])
    """
    if not isinstance(model, HyperSiren):
        raise DTypeError(f"fit_hyper needs a HyperSiren, got {type(model).__name__}")
    steps = check_positive_int("steps", steps)
    batch_size = check_positive_int("batch_size", batch_size)
    eval_every = max(1, steps // 10) if eval_every is None else check_positive_int("eval_every", eval_every)
    if isinstance(moment_weight, bool) or not isinstance(moment_weight, (int, float)) or not moment_weight >= 0:
        raise ConfigError(f"moment_weight must be >= 0, got {moment_weight!r}")
    if moment_weight > 0 and latent_loss is None:
        raise ConfigError("moment_weight > 0 needs a latent_loss, e.g. latent_loss=neuralfields.priors.moment_matching_loss")
    seed = check_seed(seed)
    if context_fraction is not None:
        if model.encoder_name != "set":
            raise ConfigError(f"context_fraction needs encoder='set'; the model has encoder={model.encoder_name!r}")
        if not isinstance(context_fraction, (int, float)) or not 0.0 < context_fraction <= 1.0:
            raise ConfigError(f"context_fraction must be in (0, 1], got {context_fraction!r}")
        context_fraction = float(context_fraction)
    ref = next(model.target.parameters())
    conv = model.encoder_name == "conv"
    # the images' values too (finite, in [0, 1]), as fit does: NaN images used to turn every weight NaN
    train = model.check_images(stack_images(train_images), check_size=conv).to(ref)
    test = None if test_images is None else model.check_images(stack_images(test_images), check_size=conv).to(ref)
    task = _HyperTask(model, train, test, batch_size, context_fraction, latent_loss, float(moment_weight), seed)
    task.data_parallel = bool(data_parallel)
    settings = {
        "batch_size": batch_size, "context_fraction": context_fraction, "moment_weight": float(moment_weight),
        "latent_loss": None if latent_loss is None else getattr(latent_loss, "__qualname__", repr(latent_loss)),
        "seed": seed, "eval_every": eval_every, "train_images": list(train.shape),
        "test_images": None if test is None else list(test.shape),
    }  # fmt: skip
    out = run(
        task, steps=steps, lr=lr, schedule=schedule, min_lr_ratio=min_lr_ratio, eval_every=eval_every,
        eval_at_start=True, callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
        resume=resume, settings=settings, progress=progress, desc="fit_hyper",
    )  # fmt: skip
    history = out.history
    if test is not None and out.stopped_early and history.val_step and history.val_step[-1] != out.steps:
        history.val_step.append(out.steps)  # a callback stopped between evaluations: the final test PSNR
        history.val_psnr.append(task.evaluate()["psnr"])
    return HyperFitResult(history, out.stopped_early)
