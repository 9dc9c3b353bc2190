"""Generators of fields: sample new images as neural fields, adversarially (:class:`FieldGenerator` with a
:class:`Discriminator`, trained by :func:`~neuralfields.training.train_field_generator`), and from priors
over the codes of a trained model (kind ``"code-prior"``: :class:`Gaussian`, :class:`GaussianMixture`,
:class:`CouplingFlow`, fitted by :func:`~neuralfields.training.fit_code_prior`)."""

from .code_priors import CodePrior, Gaussian, GaussianMixture
from .discriminator import Discriminator
from .field_generator import FieldGenerator
from .flow import CouplingFlow

__all__ = ["FieldGenerator", "Discriminator", "CodePrior", "Gaussian", "GaussianMixture", "CouplingFlow"]
