"""Solver families and shared networks."""
from .base import Solver, solvers
from .gp_spectral import GPSpectral
from .lpinn import LPINN
from .mesh_mover import DMM, MeshMover
from .mgno import MgNO, MgNONet
from .networks import MLP, FourierFeatures
from .neural_stagger import NeuralStagger
from .pig import PIG, GaussianEmbedding
from .pinn import PINN

__all__ = ["DMM", "GPSpectral", "MeshMover", "GaussianEmbedding", "MLP", "MgNO", "MgNONet", "NeuralStagger", "PIG", "PINN",
           "FourierFeatures", "Solver", "solvers"]
