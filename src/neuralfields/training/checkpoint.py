"""Training checkpoints (the engine's, :mod:`neuralfields._checkpoint`): model and task state, optimiser
state, step, settings and history in one safetensors file that :func:`neuralfields.load` also reads."""

from .._checkpoint import Checkpoint, load_checkpoint, save_checkpoint

__all__ = ["save_checkpoint", "load_checkpoint", "Checkpoint"]
