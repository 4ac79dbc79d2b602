"""Allen-Cahn problems: u (u^2 - 1) reaction with diffusion.

`allen_cahn1d` is the stationary multi-scale case of the GP-HM paper (Fang et al., ICLR
2024); `allen_cahn` is the time-dependent equation u_t = D u_xx + 5 (u - u^3) with a
spectral reference solution.
"""
from __future__ import annotations

import torch

from ..problem import Problem
from .manufactured import RES_1D, TWO_PI, dirichlet_problem
from .registry import problems


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

    return dirichlet_problem(Interval(0, TWO_PI), residual, exact, "x", RES_1D,
                             "allen_cahn1d", hard)


@problems.register("allen_cahn")
def allen_cahn(d: float = 1e-4, gamma: float = 5.0) -> Problem:
    """u_t = d u_xx + gamma (u - u^3) on [-1, 1] x [0, 1], periodic in x (value and slope),
    u(x, 0) = x^2 cos(pi x): the Allen-Cahn case of Wang, Sankaran and Perdikaris' causal
    training and of jaxpi. Reference: Fourier pseudo-spectral / ETDRK4 (pde/solvers/
    allen_cahn.py) with 2048 modes and steps of 5e-4, on the 512 x 201 grid of the usual data
    set (x_j = -1 + 2 j / 512, t = 0, 0.005, ..., 1), computed on first use (about 2 s)."""
    import numpy as np

    from ...geometry import Interval, TimeInterval
    from ..conditions import Initial, Periodic
    from ..reference import Solved
    from ..solvers.allen_cahn import solve_allen_cahn

    def residual(f):
        u = f.u
        return u.t - d * u.xx - gamma * (u - u ** 3)

    def reference():
        n, keep = 2048, 4                                  # solved on 2048, kept on 512 nodes
        x = -1.0 + 2.0 * np.arange(n) / n
        t = np.linspace(0.0, 1.0, 201)
        u = solve_allen_cahn(x ** 2 * np.cos(np.pi * x), -1.0, 1.0, t, d, gamma, dt=5e-4)
        X, T = np.meshgrid(x[::keep], t, indexing="ij")
        return np.stack([X.ravel(), T.ravel()], 1), u[:, ::keep].T.ravel()

    return Problem(Interval(-1, 1) * TimeInterval(0, 1), residual, inputs="x t", outputs="u",
                   conditions=[Initial(lambda x: x ** 2 * torch.cos(torch.pi * x)),
                               Periodic("x", derivatives=1)],
                   reference=Solved(reference), name="allen_cahn")
