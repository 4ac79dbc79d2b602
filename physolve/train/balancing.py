"""Re-exported from physolve.balancing, where it lives below the solver families (which use it;
a lower layer never imports the training loop). This is its documented import path."""
from ..balancing import (  # noqa: F401
    BALANCERS, NTK, RBA, Fixed, GradNorm, LossBalancer, ReLoBRaLo, SelfAdaptive, SoftAdapt,
    balancer, flat_gradients, ntk_diagonal, objective_terms, residual_vector, run_update,
    scaled_residuals)

__all__ = ["LossBalancer", "Fixed", "GradNorm", "NTK", "ReLoBRaLo", "SoftAdapt", "RBA",
           "SelfAdaptive", "BALANCERS", "balancer", "flat_gradients", "ntk_diagonal",
           "run_update", "scaled_residuals", "objective_terms", "residual_vector"]
