"""High-frequency and multi-scale cases of the GP-HM paper (Fang et al., ICLR 2024).

All live on [0, 2 pi] (per axis), as in the authors' configurations, have closed-form
solutions, and take Dirichlet values from them on the boundary only. Spectral bias makes them hard for PINNs: the
solutions oscillate 100 to 200 times across the domain.
"""
from __future__ import annotations

import math

import torch

from ..conditions import Dirichlet
from ..problem import Problem
from ..reference import Analytic
from .registry import problems

TWO_PI = 2 * math.pi
# Test points per axis: 20 or more per period in 1D, about 6 per period of sin(100 x) on
# [0, 2 pi]^2 in 2D, so that the relative L2 error measures the error between nodes too.
_RES_1D, _RES_2D = 4000, 600


def _boundary_values(exact, dim: int):
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


def _dirichlet_problem(domain, residual, exact, inputs, resolution, name, hard) -> Problem:
    boundary = _boundary_values(exact, len(inputs.split()))
    return Problem(domain, residual, inputs=inputs, outputs="u",
                   conditions=[Dirichlet(boundary, hard=hard)],
                   reference=Analytic(exact, resolution=resolution), name=name)


@problems.register("poisson1d_sin")
def poisson1d_sin(k: float = 100.0, hard: bool = False) -> Problem:
    """u'' = -k^2 sin(k x) on [0, 2 pi], u = sin(k x) at both ends; u = sin(k x)."""
    from ...geometry import Interval

    def exact(x):
        return torch.sin(k * x)

    def residual(f):
        return f.u.xx + k ** 2 * torch.sin(k * f.x)

    return _dirichlet_problem(Interval(0, TWO_PI), residual, exact, "x", _RES_1D,
                              "poisson1d_sin", hard)


@problems.register("poisson1d_xsin")
def poisson1d_xsin(k: float = 200.0, hard: bool = False) -> Problem:
    """u'' = 2 k cos(k x) - k^2 x sin(k x) on [0, 2 pi] with Dirichlet ends; u = x sin(k x)."""
    from ...geometry import Interval

    def exact(x):
        return x * torch.sin(k * x)

    def residual(f):
        x = f.x
        return f.u.xx - (2 * k * torch.cos(k * x) - k ** 2 * x * torch.sin(k * x))

    return _dirichlet_problem(Interval(0, TWO_PI), residual, exact, "x", _RES_1D,
                              "poisson1d_xsin", hard)


@problems.register("poisson2d_sin")
def poisson2d_sin(k: float = 100.0, hard: bool = False) -> Problem:
    """u_xx + u_yy = -2 k^2 sin(k x) sin(k y) on [0, 2 pi]^2, Dirichlet values from
    u = sin(k x) sin(k y)."""
    from ...geometry import Rectangle

    def exact(x, y):
        return torch.sin(k * x) * torch.sin(k * y)

    def residual(f):
        return f.u.xx + f.u.yy + 2 * k ** 2 * exact(f.x, f.y)

    return _dirichlet_problem(Rectangle((0, 0), (TWO_PI, TWO_PI)), residual, exact, "x y",
                              _RES_2D, "poisson2d_sin", hard)


@problems.register("allen_cahn1d")
def allen_cahn1d(a: float = 6.0, k: float = 100.0, hard: bool = False) -> Problem:
    """Stationary Allen-Cahn u'' + u (u^2 - 1) = s on [0, 2 pi] with Dirichlet ends, the
    source s manufactured from the multi-scale solution u = sin(a x) cos(k x):
    u'' = -(a^2 + k^2) u - 2 a k cos(a x) sin(k x)."""
    from ...geometry import Interval

    def exact(x):
        return torch.sin(a * x) * torch.cos(k * x)

    def source(x):
        u = exact(x)
        u_xx = -(a ** 2 + k ** 2) * u - 2 * a * k * torch.cos(a * x) * torch.sin(k * x)
        return u_xx + u * (u ** 2 - 1)

    def residual(f):
        u = f.u
        return u.xx + u * (u ** 2 - 1) - source(f.x)

    return _dirichlet_problem(Interval(0, TWO_PI), residual, exact, "x", _RES_1D,
                              "allen_cahn1d", hard)
