"""Dirichlet problems on [0, 2 pi]^d with a closed-form solution, the set-up of the GP-HM
paper's cases (Fang et al., ICLR 2024): the solution gives the boundary values only, and the
reference is the solution on a fine grid. Used by the Poisson and Allen-Cahn modules."""
from __future__ import annotations

import math

from ..conditions import Dirichlet
from ..problem import Problem
from ..reference import Analytic

TWO_PI = 2 * math.pi
# Test points per axis: 20 or more per period in 1D, about 6 per period of sin(100 x) on
# [0, 2 pi]^2 in 2D, so that the relative L2 error measures the error between nodes too.
RES_1D, RES_2D = 4000, 600


def boundary_values(exact, dim: int):
    """The values of `exact` on the boundary of [0, 2 pi]^dim, extended inside by linear
    (transfinite) interpolation between opposite faces.

    A hard-constrained PINN evaluates its Dirichlet target inside the domain too; the exact
    solution there would hand it the answer. This extension agrees with it on the boundary
    and carries nothing else.
    """
    if dim == 1:
        def g(x):
            s = x / TWO_PI
            return (1 - s) * exact(0 * x) + s * exact(0 * x + TWO_PI)
        return g

    def g(x, y):
        s, t = x / TWO_PI, y / TWO_PI
        lo, hi = 0 * x, 0 * x + TWO_PI
        edges = ((1 - s) * exact(lo, y) + s * exact(hi, y)
                 + (1 - t) * exact(x, lo) + t * exact(x, hi))
        corners = ((1 - s) * (1 - t) * exact(lo, lo) + s * (1 - t) * exact(hi, lo)
                   + (1 - s) * t * exact(lo, hi) + s * t * exact(hi, hi))
        return edges - corners
    return g


def dirichlet_problem(domain, residual, exact, inputs, resolution, name, hard) -> Problem:
    """A Problem with Dirichlet values from `exact` on the boundary only (see
    boundary_values) and `exact` on a `resolution`-per-axis grid as the reference."""
    boundary = boundary_values(exact, len(inputs.split()))
    return Problem(domain, residual, inputs=inputs, outputs="u",
                   conditions=[Dirichlet(boundary, hard=hard)],
                   reference=Analytic(exact, resolution=resolution), name=name)
