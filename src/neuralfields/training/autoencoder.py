"""Train an :class:`~neuralfields.priors.AutoEncoder` prior by reconstruction, optionally with latent
moment matching: :func:`train_autoencoder`, an adapter on the engine (:mod:`neuralfields._loop`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .history import TrainResult
from .._loop import run
from .._task import StepInfo, StepOutput, Task, psnr_of_mse
from ..errors import ConfigError, DTypeError
from ..grid import RandomBatches
from ..priors.autoencoder import AutoEncoder
from ..priors.moments import moment_matching_loss

__all__ = ["train_autoencoder", "AutoEncoderFitResult"]


@dataclass
class AutoEncoderFitResult(TrainResult):
    """What :func:`train_autoencoder` recorded.

    Attributes:
        history: per step the reconstruction MSE of its batch (``loss``, [0, 1] scale, before the
            update), its PSNR (``psnr``), the moment-matching loss (``metrics["moment_loss"]``, 0 when
            ``moment_weight`` is 0) and the step time; with test images, their reconstruction PSNR
            (``val_psnr`` at ``val_step``, 0: before training).
        stopped_early: a callback stopped the run before ``steps``.

    Example:
        >>> import neuralfields as nf
        >>> ae = nf.priors.AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)
        >>> images = nf.data.load_dataset("shapes", n=16, size=8)
        >>> res = train_autoencoder(ae, images[:12], steps=4, batch_size=4, moment_weight=0.1, test_images=images[12:],
        ...                         eval_every=2, progress=False)
        >>> res.steps, len(res.loss), len(res.moment_loss), res.history.val_step, res.moment_loss[0] > 0
        (4, 4, 4, [0, 2, 4], True)
    """

    @property
    def loss(self) -> list[float]:
        """Per step, the reconstruction MSE of its batch (``history.loss``)."""
        return self.history.loss

    @property
    def moment_loss(self) -> list[float]:
        """Per step, the moment-matching loss of its batch's latents (``history.metrics["moment_loss"]``)."""
        return self.history.metrics.get("moment_loss", [])

    @property
    def time(self) -> list[float]:
        """Per step, its wall time in seconds (``history.time``)."""
        return self.history.time


class _AutoEncoderTask(Task):
    """The adapter: a batch of images per step, reconstructed; its latents moment-matched."""

    def __init__(
        self, model: AutoEncoder, images: Tensor, test: Tensor | None, batch_size: int, moment_weight: float,
        moments: Mapping[str, float] | None, seed: int,
    ) -> None:  # fmt: skip
        self.model = model
        self.shape = tuple(images.shape[-2:])
        self.images, self.test = images, test
        self.moment_weight, self.moments = moment_weight, moments
        self.batches = RandomBatches(images.shape[0], batch_size, seed=seed)

    def step(self, step: int, lr: float) -> StepOutput:
        batch = self.images[self.batches.batch(step)]
        if batch.shape[0] < 2:  # the short last batch of an epoch: moments need two latents
            batch = self.images[self.batches.batch(step + 1)]
        part = self.part(len(batch))  # this process's images (all of them in one process)
        x, share = batch[part], len(batch[part]) / len(batch)
        z = self.model.encode(x) if len(x) else None
        rec = F.mse_loss(self.model.decode(z), x) if z is not None else None
        loss, moment = rec, 0.0
        if self.moment_weight:  # of the whole batch's latents (every process takes part in the gather)
            mom = moment_matching_loss(self.gather(z if z is not None else batch.new_zeros(0, self.model.latent_dim)), self.moments)
            moment = float(mom.detach())
            # under data parallelism divided by the share: the engine weights this process's gradient by it
            loss = None if rec is None else rec + self.moment_weight * (mom if share == 1.0 else mom / share)
        if rec is None or loss is None:
            return StepOutput(0.0, metrics={"moment_loss": moment}, share=0.0)
        loss.backward()
        mse = float(rec.detach())
        total = float(loss.detach()) if share == 1.0 else mse + self.moment_weight * moment
        # the engine checks the recorded loss: report the total where it is the one that diverged
        return StepOutput(
            mse if math.isfinite(total) else total,
            psnr=psnr_of_mse(mse, data_range=1.0),
            metrics={"moment_loss": moment},
            share=share,
        )

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        if self.test is None:
            return {}
        return {"psnr": psnr_of_mse(float(F.mse_loss(self.model(self.test).double(), self.test.double())), 1.0)}


def train_autoencoder(
    model: AutoEncoder,
    images: Tensor,
    *,
    steps: int = 2000,
    lr: float = 2e-3,
    schedule: str = "constant",
    min_lr_ratio: float = 0.01,
    batch_size: int = 128,
    moment_weight: float = 0.0,
    moments: Mapping[str, float] | None = None,
    seed: int = 0,
    test_images: Tensor | None = None,
    eval_every: int | None = None,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
    data_parallel: bool = True,
) -> AutoEncoderFitResult:
    """Train an autoencoder (in place) on images by reconstruction (MSE), with Adam.

    Under a ``torch.distributed`` process group of several processes (``torchrun``), the training is
    data-parallel: each process computes its part of every batch, the gradients are summed over the
    processes and rank 0 alone writes checkpoints (see the "Scaling out" page of the docs).

    Args:
        model: the autoencoder.
        images: ``(N, C, H, W)`` in [0, 1], of the model's channels and size.
        steps: number of updates.
        lr: Adam's (initial) learning rate.
        schedule: ``"constant"`` (default) or ``"cosine"`` (anneals to ``lr * min_lr_ratio``).
        min_lr_ratio: final / initial learning rate of the cosine schedule.
        batch_size: images per step (at least 2, at most ``N``; drawn without replacement within an epoch).
        moment_weight: weight of :func:`~neuralfields.priors.moment_matching_loss` of the batch's latents
            (0 for a plain autoencoder; a low weight such as 0.1 moment-matches the latent to the uniform).
        moments: which moments to match and their weights (default: variance and kurtosis).
        seed: seed of the batch order.
        test_images: held-out images ``(M, C, H, W)`` whose reconstruction PSNR is evaluated before
            training, every ``eval_every`` steps and at the end.
        eval_every: steps between test evaluations (default: only before and after training).
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
        An :class:`AutoEncoderFitResult`.

    Raises:
        NonFiniteLossError: the loss became NaN or infinite (lower ``lr``).
        CheckpointError: ``resume`` from a checkpoint of other settings or another model.

    Example:
        >>> import neuralfields as nf
        >>> ae = nf.priors.AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)
        >>> res = train_autoencoder(ae, nf.data.load_dataset("digits", n=32, size=8), steps=5, progress=False)
        >>> res.steps, len(res.loss), res.moment_loss[-1]
        (5, 5, 0.0)
    """
    if not isinstance(model, AutoEncoder):
        raise DTypeError(f"train_autoencoder needs an AutoEncoder, got {type(model).__name__}")
    images = model.check_images(images)
    test = None if test_images is None else model.check_images(test_images, "test_images")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(moment_weight, bool) or not isinstance(moment_weight, (int, float)) or not moment_weight >= 0:
        raise ConfigError(f"moment_weight must be a number >= 0, got {moment_weight!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    batch = max(2, min(batch_size, images.shape[0]))
    task = _AutoEncoderTask(model, images, test, batch, float(moment_weight), moments, seed)
    task.data_parallel = bool(data_parallel)
    settings: dict[str, Any] = {
        "batch_size": batch, "moment_weight": float(moment_weight),
        "moments": None if moments is None else {k: float(v) for k, v in dict(moments).items()},
        "seed": seed, "eval_every": eval_every, "images": list(images.shape),
        "test_images": None if test is None else list(test.shape),
    }  # fmt: skip
    out = run(
        task, steps=steps, lr=lr, schedule=schedule, min_lr_ratio=min_lr_ratio, eval_every=eval_every,
        eval_at_start=True, callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
        resume=resume, settings=settings, progress=progress, desc="train_autoencoder",
    )  # fmt: skip
    return AutoEncoderFitResult(out.history, out.stopped_early)
