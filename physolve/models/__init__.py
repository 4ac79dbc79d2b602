"""Solver families and shared networks."""
from .base import Solver, solvers
from .mgno import MgNO, MgNONet
from .networks import MLP, FourierFeatures
from .pig import PIG, GaussianEmbedding
from .pinn import PINN

__all__ = ["MLP", "MgNO", "MgNONet", "PIG", "PINN", "FourierFeatures", "GaussianEmbedding",
           "Solver", "solvers"]
