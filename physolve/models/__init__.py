"""Solver families and shared networks."""
from .base import Solver, solvers
from .gp_spectral import GPSpectral
from .mgno import MgNO, MgNONet
from .networks import MLP, FourierFeatures
from .pig import PIG, GaussianEmbedding
from .pinn import PINN

__all__ = ["GPSpectral", "GaussianEmbedding", "MLP", "MgNO", "MgNONet", "PIG", "PINN",
           "FourierFeatures", "Solver", "solvers"]
