"""Conditioning: one field for many items (index coordinate, binary code, learned latent codes), and
hypernetworks that emit a SIREN's weights from an image (:class:`HyperSiren`)."""

from .base import Conditioning
from .codes import BinaryCode, IndexCoordinate
from .conditioned import ConditionedField, ItemField
from .hyper import ENCODERS, HEADS, LATENTS, HyperFitResult, HyperSiren, fit_hyper
from .latent import LATENT_MODES, Latent

__all__ = [
    "Conditioning",
    "IndexCoordinate",
    "BinaryCode",
    "Latent",
    "LATENT_MODES",
    "ConditionedField",
    "ItemField",
    "HyperSiren",
    "HyperFitResult",
    "fit_hyper",
    "ENCODERS",
    "HEADS",
    "LATENTS",
]
