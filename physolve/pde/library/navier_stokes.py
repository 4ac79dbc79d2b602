"""Steady incompressible Navier-Stokes problems in 2D: velocity (u, v), pressure p.

    u u_x + v u_y + p_x - (u_xx + u_yy) / Re = 0
    u v_x + v v_y + p_y - (v_xx + v_yy) / Re = 0
    u_x + v_y = 0
"""
from __future__ import annotations

import math

import torch

from ..conditions import Dirichlet
from ..problem import Problem
from ..reference import Analytic
from .registry import problems


def steady_navier_stokes(re: float):
    """The residual of the steady equations above, as three named equations."""

    def residual(f):
        u, v, p = f.u, f.v, f.p
        return {"momentum_x": u * u.x + v * u.y + p.x - (u.xx + u.yy) / re,
                "momentum_y": u * v.x + v * v.y + p.y - (v.xx + v.yy) / re,
                "continuity": u.x + v.y}

    return residual


@problems.register("kovasznay")
def kovasznay(re: float = 20.0, n_pressure: int | None = 114) -> Problem:
    """Kovasznay flow (Kovasznay 1948) on [-0.5, 1] x [-0.5, 1.5]: the exact solution

        u = 1 - exp(l x) cos(2 pi y),  v = l / (2 pi) exp(l x) sin(2 pi y),
        p = (1 - exp(2 l x)) / 2,      l = Re / 2 - sqrt(Re^2 / 4 + 4 pi^2).

    Velocity from the exact solution on the whole boundary, pressure on the outflow face
    x = 1 only (it fixes p's constant), as in DeepXDE's Kovasznay example. `n_pressure`:
    points for the pressure condition (DeepXDE's 400 boundary points put about 114 on that
    face); None takes the solver's default.
    """
    from ...geometry import Rectangle

    lam = re / 2 - math.sqrt(re ** 2 / 4 + 4 * math.pi ** 2)

    def u_exact(x, y):
        return 1 - torch.exp(lam * x) * torch.cos(2 * math.pi * y)

    def v_exact(x, y):
        return lam / (2 * math.pi) * torch.exp(lam * x) * torch.sin(2 * math.pi * y)

    def p_exact(x, y):
        return (1 - torch.exp(2 * lam * x)) / 2

    def exact(x, y):
        return u_exact(x, y), v_exact(x, y), p_exact(x, y)

    return Problem(Rectangle((-0.5, -0.5), (1.0, 1.5)), steady_navier_stokes(re),
                   inputs="x y", outputs="u v p",
                   conditions=[Dirichlet(u_exact, output="u"), Dirichlet(v_exact, output="v"),
                               Dirichlet(p_exact, on="xmax", output="p", n=n_pressure)],
                   reference=Analytic(exact, resolution=101), name="kovasznay")

from ..solvers.navier_stokes2d import periodic_vorticity  # noqa: E402  (2D periodic flow)
problems.register("navier_stokes2d_periodic")(periodic_vorticity)
