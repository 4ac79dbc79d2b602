"""physolve: physics-informed PDE solving in PyTorch.

State a problem once (domain, residual, conditions) and hand it to any solver family.
Importing physolve has no side effects: torch's default dtype and device are left alone.
"""
from . import geometry, models, optim, pde, sampling, train
from .models import PINN
from .pde import (Dirichlet, Initial, Neumann, Observation, Periodic, PointResidual, Problem, Robin,
                  Unknown, d, div, grad, laplacian, problems, reference)
from .train import Solution, Trainer, TrainingDiverged, solve

__version__ = "0.1.0"

__all__ = [
    "Dirichlet", "Initial", "Neumann", "Observation", "PINN", "Periodic", "PointResidual", "Problem",
    "Robin", "Solution", "Trainer", "TrainingDiverged", "Unknown", "d", "div", "geometry", "grad",
    "laplacian", "models", "optim", "pde", "problems", "reference", "sampling", "solve", "train",
]
