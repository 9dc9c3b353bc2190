"""Inverse problems: forward operators, solvers and early-stopping rules."""

from .operators import Blur, Denoise, Downsample, Mask, Operator
from .solvers import FieldSolver, MAPSolver, Prior, Solution, SolveHistory, Solver, initial_guess, per_image_psnr, solve
from .stopping import Discrepancy, FixedBudget, HoldoutStop, StoppingRule, stopping_rule

__all__ = [
    "Operator",
    "Denoise",
    "Mask",
    "Downsample",
    "Blur",
    "solve",
    "Solver",
    "MAPSolver",
    "FieldSolver",
    "Solution",
    "SolveHistory",
    "Prior",
    "initial_guess",
    "per_image_psnr",
    "StoppingRule",
    "FixedBudget",
    "Discrepancy",
    "HoldoutStop",
    "stopping_rule",
]
