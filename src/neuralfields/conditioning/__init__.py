"""Conditioning: one field for many items (index coordinate, binary code, learned latent codes)."""

from .base import Conditioning
from .codes import BinaryCode, IndexCoordinate
from .conditioned import ConditionedField, ItemField
from .latent import LATENT_MODES, Latent

__all__ = ["Conditioning", "IndexCoordinate", "BinaryCode", "Latent", "LATENT_MODES", "ConditionedField", "ItemField"]
