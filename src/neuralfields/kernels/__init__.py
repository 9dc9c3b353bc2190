"""Fused kernels: the SIREN sine layer as a ``torch.library`` custom op (CPU path, Triton CUDA path).

:func:`sine_layer` and :func:`sine_layer_batched` compute ``sin(omega_0 * (x W^T + b))`` with a
backward pass that recomputes the pre-activation, so training keeps less activation memory.
"""

from ._triton import TRITON_AVAILABLE
from .sine_layer import PRECISIONS, sine_layer, sine_layer_batched

__all__ = ["PRECISIONS", "TRITON_AVAILABLE", "sine_layer", "sine_layer_batched"]
