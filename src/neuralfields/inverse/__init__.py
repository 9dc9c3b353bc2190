"""Inverse problems: forward operators, solvers and early-stopping rules; deepinv physics and reconstructors."""

from .deepinv_interop import FieldReconstructor, PhysicsOperator
from .lam import CRITERIA, DEFAULT_LAM_RANGE, LamSweep, auto_criterion, lam_grid, lam_sweep
from .operators import Blur, Denoise, Downsample, Mask, Operator
from .solution import Solution, initial_guess, per_image_psnr
from .solvers import FieldSolver, MAPSolver, Prior, Solver, solve  # noqa: F401 (Prior: priors.Prior, the earlier name)
from .stopping import STOPPING_RULES, Discrepancy, FixedBudget, HoldoutStop, StoppingRule, stopping_rule

__all__ = [
    "Operator",
    "Denoise",
    "Mask",
    "Downsample",
    "Blur",
    "solve",
    "lam_sweep",
    "lam_grid",
    "LamSweep",
    "auto_criterion",
    "CRITERIA",
    "DEFAULT_LAM_RANGE",
    "Solver",
    "MAPSolver",
    "FieldSolver",
    "Solution",
    "initial_guess",
    "per_image_psnr",
    "StoppingRule",
    "FixedBudget",
    "Discrepancy",
    "HoldoutStop",
    "stopping_rule",
    "STOPPING_RULES",
    "PhysicsOperator",
    "FieldReconstructor",
]
