"""Linear convection (advection): u_t + beta u_x = 0.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..conditions import Initial, Periodic
from ..problem import Problem
from ..reference import Analytic
from .registry import problems

PI = math.pi


@problems.register("convection")
def convection(beta: float = 30.0) -> Problem:
    """u_t + beta u_x = 0 on [0, 2 pi] x [0, 1], periodic in x, u(x, 0) = sin x;
    u = sin(x - beta t). Reference on a 256 x 100 grid."""
    from ...geometry import Interval, TimeInterval

    def residual(f):
        return f.u.t + beta * f.u.x

    x = np.linspace(0, 2 * PI, 256)
    t = np.linspace(0, 1, 100)
    X, T = np.meshgrid(x, t, indexing="ij")
    return Problem(Interval(0, 2 * PI) * TimeInterval(0, 1), residual, inputs="x t", outputs="u",
                   conditions=[Initial(lambda x: torch.sin(x)), Periodic("x", derivatives=0)],
                   reference=Analytic(lambda x, t: torch.sin(x - beta * t),
                                      points=np.stack([X.ravel(), T.ravel()], 1)),
                   name="convection")
