"""Inverse problems: forward operators (and, later, solvers)."""

from .operators import Blur, Denoise, Downsample, Mask, Operator

__all__ = ["Operator", "Denoise", "Mask", "Downsample", "Blur"]
