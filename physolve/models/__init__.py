"""Solver families and shared networks."""
from .base import Solver, solvers
from .networks import MLP, FourierFeatures
from .pig import PIG, GaussianEmbedding
from .pinn import PINN

__all__ = ["MLP", "PIG", "PINN", "FourierFeatures", "GaussianEmbedding", "Solver", "solvers"]
