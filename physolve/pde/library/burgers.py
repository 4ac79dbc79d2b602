"""Burgers' equation: u_t + u u_x = nu u_xx.
"""
from __future__ import annotations

import math

import torch

from ..conditions import Dirichlet, Initial
from ..problem import Problem
from ..reference import burgers_exact
from .registry import problems

PI = math.pi


@problems.register("burgers")
def burgers(nu: float = 0.01 / PI, hard: bool = False) -> Problem:
    """u_t + u u_x = nu u_xx on [-1, 1] x [0, 1], u(x, 0) = -sin(pi x), u(+-1, t) = 0.
    Reference: the exact Cole-Hopf solution on a 256 x 101 grid."""
    from ...geometry import Interval, TimeInterval

    def residual(f):
        u = f.u
        return u.t + u * u.x - nu * u.xx

    return Problem(
        Interval(-1, 1) * TimeInterval(0, 1), residual, inputs="x t", outputs="u",
        conditions=[Initial(lambda x: -torch.sin(PI * x), hard=hard),
                    Dirichlet(0.0, on="x", hard=hard)],
        reference=burgers_exact(nu), name="burgers",
    )

from ..solvers.burgers2d import burgers2d_fields  # noqa: E402  (2D Burgers states, mesh mover data)
problems.register("burgers2d_fields")(burgers2d_fields)
