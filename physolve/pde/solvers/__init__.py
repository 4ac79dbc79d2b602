"""Classical reference solvers that produce ground truth inside the project (no downloads)."""
from .burgers2d import random_burgers_fields, solve_burgers2d
from .darcy import darcy_matrix, solve_darcy
from .diffusion_sorption import (SorptionConstants, diffusion_sorption_on_nodes,
                                 solve_diffusion_sorption)
from .navier_stokes2d import NavierStokes2D, relative_l2, spectral_resample

__all__ = ["darcy_matrix", "solve_darcy", "NavierStokes2D", "relative_l2", "spectral_resample",
           "solve_burgers2d", "random_burgers_fields", "SorptionConstants",
           "solve_diffusion_sorption", "diffusion_sorption_on_nodes"]
