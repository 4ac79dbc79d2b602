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


def _periodic_heat_pulse(x, t, beta, nu, center, width, period, images=3):
    """exp(-(x - center)^2 / (2 width^2)) carried at speed beta and spread by nu on a periodic
    line: each periodic image is a Gaussian of variance width^2 + 2 nu t and height
    width / sqrt(width^2 + 2 nu t). The distance to the carried centre is wrapped into
    [-period/2, period/2) first, so `images` on each side leave out terms below
    exp(-(images period)^2 / (2 var)): far below rounding for width <= period / 4."""
    var = width ** 2 + 2 * nu * t
    shift = torch.remainder(x - center - beta * t + period / 2, period) - period / 2
    return sum(width / torch.sqrt(var) * torch.exp(-(shift + k * period) ** 2 / (2 * var))
               for k in range(-images, images + 1))


@problems.register("convection_diffusion_pulse")
def convection_diffusion_pulse(beta: float = 50.0, nu: float = 0.01,
                               width: float = PI / 4) -> Problem:
    """u_t + beta u_x = nu u_xx on [0, 2 pi] x [0, 1], periodic in x, a Gaussian pulse
    u(x, 0) = exp(-(x - pi)^2 / (2 width^2)) (the LPINN authors' convection-diffusion case:
    beta = 50, nu = 0.01). Exact: the sum of the pulse's periodic images, each carried at
    beta and spread to variance width^2 + 2 nu t. Reference on a 256 x 100 grid."""
    from ...geometry import Interval, TimeInterval

    if not width > 0:
        raise ValueError(f"convection_diffusion_pulse: width must be > 0, got {width!r}")
    if not nu >= 0:
        raise ValueError(f"convection_diffusion_pulse: nu must be >= 0, got {nu!r}")

    def residual(f):
        return f.u.t + beta * f.u.x - nu * f.u.xx

    def exact(x, t):
        return _periodic_heat_pulse(x, t, beta, nu, PI, width, 2 * PI)

    x = np.linspace(0, 2 * PI, 256)
    t = np.linspace(0, 1, 100)
    X, T = np.meshgrid(x, t, indexing="ij")
    return Problem(Interval(0, 2 * PI) * TimeInterval(0, 1), residual, inputs="x t", outputs="u",
                   conditions=[Initial(lambda x: exact(x, torch.zeros_like(x))),
                               Periodic("x", derivatives=1)],
                   reference=Analytic(exact, points=np.stack([X.ravel(), T.ravel()], 1)),
                   name="convection_diffusion_pulse")
