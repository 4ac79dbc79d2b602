"""Problem definition: fields, operators, conditions, Problem, references, the problem library."""
from . import reference
from .autograd import AutogradBackend
from .backend import DerivativeBackend
from .conditions import (Condition, ConditionBatch, Dirichlet, Initial, Neumann, Observation,
                         Periodic, PointResidual, Robin)
from .fields import Field, Fields
from .hard import HardConstraints
from .library import problems
from .operators import d, div, grad, laplacian
from .problem import Problem
from .reference import Analytic, ReferenceData, burgers_exact, load_pinnacle
from .unknowns import Unknown

__all__ = [
    "Analytic", "AutogradBackend", "Condition", "ConditionBatch", "DerivativeBackend", "Dirichlet",
    "Field", "Fields", "HardConstraints", "Initial", "Neumann", "Observation", "Periodic",
    "PointResidual", "Problem", "ReferenceData", "Robin", "Unknown", "burgers_exact", "d", "div",
    "grad", "laplacian", "load_pinnacle", "problems", "reference",
]
