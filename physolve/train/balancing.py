"""Re-exported from physolve.balancing, where it lives below the solver families (which use it;
a lower layer never imports the training loop). This is its documented import path."""
from ..balancing import (  # noqa: F401
    LossBalancer, Fixed, GradNorm, ReLoBRaLo, SoftAdapt, RBA, BALANCERS, balancer, flat_gradients, run_update, scaled_residuals, objective_terms, residual_vector)

__all__ = ['LossBalancer', 'Fixed', 'GradNorm', 'ReLoBRaLo', 'SoftAdapt', 'RBA', 'BALANCERS', 'balancer', 'flat_gradients', 'run_update', 'scaled_residuals', 'objective_terms', 'residual_vector']
