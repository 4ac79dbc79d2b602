"""Solver families and shared networks."""
from .base import Solver, solvers
from .networks import MLP, FourierFeatures
from .pinn import PINN

__all__ = ["MLP", "PINN", "FourierFeatures", "Solver", "solvers"]
