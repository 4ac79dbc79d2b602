"""Classic PINN benchmark problems: Burgers, Poisson, Helmholtz, convection, inverse diffusion."""
from __future__ import annotations

import math
import numpy as np
import torch

from ..conditions import Dirichlet, Initial, Observation, Periodic
from ..problem import Problem
from ..reference import Analytic, burgers_exact, load_pinnacle
from ..unknowns import Unknown
from .registry import pinnacle_file, problems

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


@problems.register("poisson1d")
def poisson1d(k: int = 1) -> Problem:
    """-u'' = (k pi)^2 sin(k pi x) on [-1, 1], u(+-1) = 0; u = sin(k pi x)."""
    from ...geometry import Interval

    def residual(f):
        return -f.u.xx - (k * PI) ** 2 * torch.sin(k * PI * f.x)

    return Problem(Interval(-1, 1), residual, inputs="x", outputs="u",
                   conditions=[Dirichlet(0.0)],
                   reference=Analytic(lambda x: torch.sin(k * PI * x), resolution=1001),
                   name="poisson1d")


@problems.register("poisson2d_c")
def poisson2d_c() -> Problem:
    """PINNacle Poisson2d-C: Laplace's equation on [-0.5, 0.5]^2 minus four disks of radius
    0.1 at (+-0.3, +-0.3); u = 1 on the square ("outer"), u = 0 on the circles ("hole").
    Reference: PINNacle's COMSOL solution."""
    from ...geometry import Disk, Rectangle

    domain = Rectangle((-0.5, -0.5), (0.5, 0.5), name="outer")
    for cx in (-0.3, 0.3):
        for cy in (-0.3, 0.3):
            domain = domain - Disk((cx, cy), 0.1, name="hole")

    def residual(f):
        return f.u.xx + f.u.yy

    return Problem(domain, residual, inputs="x y", outputs="u",
                   conditions=[Dirichlet(1.0, on="outer"), Dirichlet(0.0, on="hole")],
                   reference=load_pinnacle(pinnacle_file("poisson1_cg_data.dat")),
                   name="poisson2d_c")


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


@problems.register("inverse_diffusion")
def inverse_diffusion(kappa: float = 0.1, kappa_init: float = 0.5, n_obs: int = 200,
                      noise: float = 0.0, seed: int = 1) -> Problem:
    """Recover the diffusivity kappa of u_t = kappa u_xx on [0, 1] x [0, 1] from observations
    of u = exp(-kappa pi^2 t) sin(pi x) at `n_obs` random points (plus optional Gaussian noise
    of relative size `noise`), with u = 0 at x = 0, 1 and the initial state known."""
    from ...geometry import Interval, TimeInterval

    def exact(x, t):
        return torch.exp(-kappa * PI ** 2 * t) * torch.sin(PI * x)

    def residual(f, kappa):
        return f.u.t - kappa * f.u.xx

    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 1, size=(n_obs, 2))
    vals = exact(torch.as_tensor(pts[:, 0]), torch.as_tensor(pts[:, 1])).numpy()
    vals = vals + noise * np.abs(vals).mean() * rng.standard_normal(n_obs)
    return Problem(
        Interval(0, 1) * TimeInterval(0, 1), residual, inputs="x t", outputs="u",
        conditions=[Initial(lambda x: torch.sin(PI * x)), Dirichlet(0.0, on="x"),
                    Observation(pts, vals)],
        unknowns={"kappa": Unknown(kappa_init, positive=True)},
        reference=Analytic(exact, resolution=101), name="inverse_diffusion",
    )
