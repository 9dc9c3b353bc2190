"""Train an image classifier by cross-entropy: :func:`train_classifier`, an adapter on the engine
(:mod:`neuralfields._loop`). The sample-quality measures of :mod:`neuralfields.analysis.sample_quality`
use one as their feature extractor."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_float_tensor, check_positive_int, check_seed
from .._loop import run
from .._task import StepInfo, StepOutput, Task
from ..errors import InvalidDataError, ShapeError
from ..grid import RandomBatches
from .history import TrainResult

__all__ = ["train_classifier"]


class _ClassifierTask(Task):
    def __init__(self, model: nn.Module, images: Tensor, labels: Tensor, batch_size: int, seed: int,
                 test: tuple[Tensor, Tensor] | None) -> None:  # fmt: skip
        self.model, self.images, self.labels, self.test = model, images, labels, test
        self.batches = RandomBatches(images.shape[0], batch_size, seed=seed)

    def step(self, step: int, lr: float) -> StepOutput:
        idx = self.batches.batch(step)
        logits = self.model(self.images[idx])
        loss = F.cross_entropy(logits, self.labels[idx])
        loss.backward()
        accuracy = float((logits.detach().argmax(1) == self.labels[idx]).float().mean())
        return StepOutput(float(loss.detach()), metrics={"accuracy": accuracy})

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        if self.test is None:
            return {}
        was = self.model.training
        self.model.eval()
        predicted = torch.cat([self.model(x).argmax(1) for x in self.test[0].split(512)])
        self.model.train(was)
        return {"accuracy": float((predicted == self.test[1]).float().mean())}


def train_classifier(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    steps: int = 600,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    test: tuple[Tensor, Tensor] | None = None,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` (images -> logits ``(B, K)``, in place) by cross-entropy with Adam (cosine schedule).

    Args:
        model: the classifier.
        images: ``(N, C, H, W)``.
        labels: ``(N,)`` class indices.
        steps: updates.
        batch_size: images per step (without replacement within an epoch).
        lr: Adam's initial learning rate.
        seed: seed of the batch order.
        test: held-out ``(images, labels)``; their accuracy is ``history.val_metrics["accuracy"]`` at the end.
        callbacks: called after each step.
        progress: progress bar (only when stderr is a terminal).

    Returns:
        A :class:`~neuralfields.training.TrainResult`; ``history.metrics["accuracy"]`` per step.

    Example:
        >>> import neuralfields as nf
        >>> x = nf.data.load_dataset("digits", n=64, size=8)
        >>> y = nf.data.dataset_labels("digits", n=64)
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        >>> res = train_classifier(net, x, y, steps=60, batch_size=32, progress=False)
        >>> res.steps, res.history.metrics["accuracy"][-1] > 0.5
        (60, True)
    """
    images = check_float_tensor("images", images)
    for name, (x, y) in {"": (images, labels), "test ": test or (images, labels)}.items():
        if not isinstance(y, Tensor) or y.dtype not in (torch.int64, torch.int32) or y.dim() != 1:
            raise ShapeError(f"{name}labels must be an integer tensor (N,), got {getattr(y, 'shape', type(y))}")
        if x.dim() != 4 or x.shape[0] != y.shape[0]:
            raise ShapeError(f"{name}images must be (N, C, H, W) with one label each, got {tuple(x.shape)} and {y.shape[0]} labels")
    if images.shape[0] < 2:
        raise InvalidDataError(f"a classifier needs at least 2 images, got {images.shape[0]}")
    task = _ClassifierTask(model, images, labels.long(), check_positive_int("batch_size", batch_size), check_seed(seed),
                           None if test is None else (test[0], test[1].long()))  # fmt: skip
    out = run(task, steps=check_positive_int("steps", steps), lr=lr, schedule="cosine", callbacks=callbacks,
              progress=progress, desc="train_classifier")  # fmt: skip
    return TrainResult(out.history, out.stopped_early)
