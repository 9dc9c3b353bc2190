"""Losses of the fitting functions (``loss=``). The mean squared error has a fast path per field family
(:func:`~neuralfields.training.accumulate_mse_grad`); the others run with autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError

__all__ = ["LOSSES", "LossFn", "resolve_loss", "loss_setting"]

LossFn = Callable[[Tensor, Tensor], Tensor]
"""A loss: ``(pred (N, C), target (N, C)) -> scalar`` (differentiable)."""

LOSSES: dict[str, LossFn] = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "huber": F.smooth_l1_loss,
}
"""Losses by name (values on the field's [-1, 1] scale). ``"mse"`` is trained through the fast step."""


def resolve_loss(loss: str | LossFn) -> Optional[LossFn]:
    """The loss to run with autograd, or ``None`` for the mean squared error (the fast step).

    Example:
        >>> resolve_loss("mse") is None, resolve_loss("l1").__name__
        (True, 'l1_loss')
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ConfigError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)} or a callable (pred, target) -> scalar")
        return None if loss == "mse" else LOSSES[loss]
    if not callable(loss):
        raise ConfigError(f"loss must be a name or a callable (pred, target) -> scalar, got {type(loss).__name__}")
    return loss


def loss_setting(loss: str | LossFn) -> dict[str, str]:
    """What a checkpoint records of a loss (nothing for the default ``"mse"``, so earlier checkpoints match)."""
    if isinstance(loss, str):
        return {} if loss == "mse" else {"loss": loss}
    return {"loss": getattr(loss, "__qualname__", repr(loss))}
