"""Re-exported from physolve.causal, where it lives below the solver families (which use it;
a lower layer never imports the training loop). This is its documented import path."""
from ..causal import (  # noqa: F401
    CausalWeights, OPTIONS)

__all__ = ['CausalWeights', 'OPTIONS']
