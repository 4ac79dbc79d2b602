"""Solver families and shared networks."""
from .base import Solver, solvers
from .gp_spectral import GPSpectral
from .mgno import MgNO, MgNONet
from .networks import MLP, FourierFeatures
from .pinn import PINN

__all__ = ["GPSpectral", "MLP", "MgNO", "MgNONet", "PINN", "FourierFeatures", "Solver",
           "solvers"]
