"""Classical reference solvers that produce ground truth inside the project (no downloads)."""
from .darcy import darcy_matrix, solve_darcy

__all__ = ["darcy_matrix", "solve_darcy"]
