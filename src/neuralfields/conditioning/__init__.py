"""Conditioning: one field for many items (index coordinate, binary code, learned latent codes), and
hypernetworks that emit a SIREN's weights from an image (:class:`HyperSiren`)."""

from .._capabilities import Bottlenecked, HasCodes, Layered, Modulatable
from .base import Conditioning, Model
from .codes import BinaryCode, IndexCoordinate
from .conditioned import ConditionedField, ItemField
from .hyper import ENCODERS, HEADS, LATENTS, HyperSiren
from .hyper_heads import HyperHead
from .latent import LATENT_MODES, Latent

__all__ = [
    "Conditioning",
    "Model",
    "Modulatable",
    "Layered",
    "Bottlenecked",
    "HasCodes",
    "IndexCoordinate",
    "BinaryCode",
    "Latent",
    "LATENT_MODES",
    "ConditionedField",
    "ItemField",
    "HyperSiren",
    "HyperHead",
    "ENCODERS",
    "HEADS",
    "LATENTS",
]
