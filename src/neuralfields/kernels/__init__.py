"""Fused kernels: the SIREN sine layer as a ``torch.library`` custom op (CPU path, Triton CUDA path).

:func:`sine_layer` and :func:`sine_layer_batched` compute ``sin(omega_0 * (x W^T + b))`` with a
backward pass that recomputes the pre-activation, so training keeps less activation memory.
:func:`sine_mlp_mse_grad` is a whole-SIREN training step (forward, squared error, backward) written
out by hand, the CPU path of :func:`neuralfields.fit`.
"""

from ._triton import TRITON_AVAILABLE
from .sine_layer import PRECISIONS, sine_layer, sine_layer_batched
from .sine_mlp import sine_mlp_mse_grad

__all__ = ["PRECISIONS", "TRITON_AVAILABLE", "sine_layer", "sine_layer_batched", "sine_mlp_mse_grad"]
