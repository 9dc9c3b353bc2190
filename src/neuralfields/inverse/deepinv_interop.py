"""Interoperability with `deepinv <https://deepinv.github.io>`_ (the optional extra ``[deepinv]``).

Two ways across, both by deepinv's conventions (images ``(B, C, H, W)``, a physics object with ``A`` and,
when linear, ``A_adjoint``), so neither needs deepinv to be imported here:

- :func:`~neuralfields.inverse.solve` accepts a deepinv physics as its operator (wrapped in
  :class:`PhysicsOperator`);
- :class:`FieldReconstructor` is a deepinv-style reconstructor, ``model(y, physics) -> x``: a neural field
  (or any of our solvers and priors) restores the images, so deepinv users can put a field wherever deepinv
  takes a model (its ``test`` loops, its metrics, next to its own solvers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError, DTypeError
from .operators import Operator

__all__ = ["PhysicsOperator", "FieldReconstructor", "is_physics", "physics_sigma"]


def is_physics(obj: Any) -> bool:
    """Whether ``obj`` looks like a deepinv physics: not one of our operators, with a callable ``A``."""
    return not isinstance(obj, Operator) and callable(getattr(obj, "A", None))


def physics_sigma(physics: Any) -> float | None:
    """The Gaussian noise level of a deepinv physics (``physics.noise_model.sigma``), if it states one."""
    sigma = getattr(getattr(physics, "noise_model", None), "sigma", None)
    if isinstance(sigma, Tensor):
        sigma = float(sigma.flatten()[0]) if sigma.numel() else None
    return float(sigma) if isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0 else None


class PhysicsOperator(Operator):
    """A deepinv physics as an :class:`~neuralfields.inverse.Operator`: ``A x`` is ``physics.A(x)`` (noise-free)
    and the adjoint ``physics.A_adjoint(y)``, or the vector-Jacobian product of ``A`` where the physics has
    none (then ``A`` must be linear for the adjoint to be one).

    Args:
        physics: a deepinv physics (e.g. ``deepinv.physics.Inpainting``), or any object with ``A(x)``.

    Example:
        >>> import torch
        >>> class Halve:  # a stand-in with deepinv's method names
        ...     def A(self, x): return x[..., ::2]
        >>> op = PhysicsOperator(Halve())
        >>> op(torch.ones(1, 1, 2, 4)).shape, op.adjoint(torch.ones(1, 1, 2, 2)).shape
        (torch.Size([1, 1, 2, 2]), torch.Size([1, 1, 2, 4]))
    """

    def __init__(self, physics: Any) -> None:
        super().__init__()
        if not is_physics(physics):
            raise DTypeError(f"a physics needs a callable A(x) (deepinv's convention), got {type(physics).__name__}")
        self.physics = physics
        self._shape: tuple[int, ...] | None = None

    @property
    def config(self) -> dict[str, Any]:
        return {"physics": type(self.physics).__name__}

    def forward(self, x: Tensor) -> Tensor:
        self._shape = tuple(x.shape)
        return self.physics.A(x)

    def adjoint(self, y: Tensor) -> Tensor:
        adjoint = getattr(self.physics, "A_adjoint", None)
        if callable(adjoint):
            return adjoint(y)
        if self._shape is None or self._shape[0] != y.shape[0]:
            raise ConfigError("this physics has no A_adjoint; give x0 (or call the operator on an image first) so that its input shape is known")
        x = torch.zeros(self._shape, dtype=y.dtype, device=y.device, requires_grad=True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(self.physics.A(x), x, grad_outputs=y)
        return grad


class FieldReconstructor(nn.Module):
    """A deepinv-style reconstructor: ``model(y, physics)`` restores images with :func:`~neuralfields.inverse.solve`.

    By default a neural field per image (the ``"field"`` solver: a deep-image-prior-style solve) stopped by
    the discrepancy principle; any solver, prior and stopping rule of ours can be chosen instead.

    Args:
        solver: a solver name, spec or object (default ``"field"``).
        prior: a prior (name, object or ``.safetensors`` file), or ``None``.
        lam: the prior's weight: ``"auto"`` (default, as in :func:`~neuralfields.inverse.solve`), a number, or
            one per image; ignored without a prior.
        steps: the solver's budget.
        stop: the stopping rule (default ``"discrepancy"``; ``"budget"`` runs every step).
        sigma: the noise level; ``None`` takes it from ``physics.noise_model.sigma`` at each call.
        solve_kwargs: other arguments of :func:`~neuralfields.inverse.solve` (e.g. ``x0``, ``callbacks``).

    Example:
        >>> import torch, neuralfields as nf
        >>> from neuralfields.inverse import FieldReconstructor
        >>> class Noisy:  # a stand-in for deepinv.physics.Denoising(GaussianNoise(0.1))
        ...     noise_model = type("N", (), {"sigma": 0.1})()
        ...     def A(self, x): return x
        ...     def A_adjoint(self, y): return y
        >>> clean = nf.data.load_image("camera", size=32)[None]
        >>> y = clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
        >>> x = FieldReconstructor(steps=150)(y, Noisy())
        >>> x.shape, nf.psnr(x, clean) > nf.psnr(y.clamp(0, 1), clean) + 3  # measured 25.8 dB against 20.1
        (torch.Size([1, 1, 32, 32]), True)
    """

    def __init__(self, solver: Any = "field", prior: Any = None, *, lam: Any = "auto", steps: int = 500,
                 stop: Any = "discrepancy", sigma: float | None = None, solve_kwargs: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.solver, self.prior, self.lam, self.steps, self.stop, self.sigma = solver, prior, lam, steps, stop, sigma
        self.solve_kwargs = dict(solve_kwargs or {})
        self.last_solution: Any = None
        """The :class:`~neuralfields.inverse.Solution` of the last call (stopping iterations, curves)."""

    def forward(self, y: Tensor, physics: Any, **kwargs: Any) -> Tensor:
        """Restore ``x`` from ``y = physics(x)``; returns ``(B, C, H, W)`` in [0, 1]."""
        from .solvers import solve

        sigma = self.sigma if self.sigma is not None else physics_sigma(physics)
        if sigma is None:
            raise ConfigError("the physics states no Gaussian noise level (physics.noise_model.sigma); give FieldReconstructor(sigma=...)")
        args = {"progress": False, **self.solve_kwargs, **kwargs}
        with torch.enable_grad():
            self.last_solution = solve(y, PhysicsOperator(physics), self.prior, sigma=sigma, lam=self.lam, solver=self.solver,
                                       steps=self.steps, stop=self.stop, **args)  # fmt: skip
        return self.last_solution.x
