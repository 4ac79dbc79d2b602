"""Solver families and shared networks."""
from .base import Solver, solvers
from .mgno import MgNO, MgNONet
from .networks import MLP, FourierFeatures
from .pinn import PINN

__all__ = ["MLP", "MgNO", "MgNONet", "PINN", "FourierFeatures", "Solver", "solvers"]
