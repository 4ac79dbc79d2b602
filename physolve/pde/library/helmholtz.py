"""Helmholtz problems: u_xx + u_yy + k^2 u = q.
"""
from __future__ import annotations

import math

import torch

from ..conditions import Dirichlet
from ..problem import Problem
from ..reference import Analytic
from .registry import problems

PI = math.pi


@problems.register("helmholtz2d")
def helmholtz2d(a1: float = 1.0, a2: float = 4.0, k: float = 1.0) -> Problem:
    """u_xx + u_yy + k^2 u = q on [-1, 1]^2, u = 0 on the boundary, with q chosen so that
    u = sin(a1 pi x) sin(a2 pi y)."""
    from ...geometry import Rectangle

    def exact(x, y):
        return torch.sin(a1 * PI * x) * torch.sin(a2 * PI * y)

    def residual(f):
        u = f.u
        q = (k ** 2 - (a1 * PI) ** 2 - (a2 * PI) ** 2) * exact(f.x, f.y)
        return u.xx + u.yy + k ** 2 * u - q

    return Problem(Rectangle((-1, -1), (1, 1)), residual, inputs="x y", outputs="u",
                   conditions=[Dirichlet(0.0)],
                   reference=Analytic(exact, resolution=250), name="helmholtz2d")
