"""Solver families and shared networks."""
from .base import Solver, solvers
from .gp_spectral import GPSpectral
from .hc_moe import HardConstraint, HardConstraintMoE, SoftConstraint
from .lpinn import LPINN
from .mesh_mover import DMM, MeshMover
from .mgno import MgNO, MgNONet
from .mmpde import MMPDE
from .networks import MLP, FourierFeatures
from .neural_stagger import NeuralStagger
from .pig import PIG, GaussianEmbedding
from .pinn import PINN

__all__ = ["DMM", "GPSpectral", "GaussianEmbedding", "HardConstraint", "HardConstraintMoE", "LPINN",
           "MLP", "MMPDE", "MeshMover", "MgNO", "MgNONet", "NeuralStagger", "PIG", "PINN",
           "SoftConstraint", "FourierFeatures", "Solver", "solvers"]
