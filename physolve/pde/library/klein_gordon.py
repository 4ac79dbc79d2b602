"""The (2+1)-dimensional Klein-Gordon equation, a case of the Physics-Informed Gaussians paper
(Kang et al., ICLR 2025).
"""
from __future__ import annotations

import torch

from ..conditions import Dirichlet, Initial
from ..problem import Problem
from ..reference import Analytic
from .registry import problems


@problems.register("klein_gordon")
def klein_gordon(k: float = 2.0, t_end: float = 10.0, initial_rate: bool = True,
                 resolution: int = 50) -> Problem:
    """u_tt - u_xx - u_yy + u^2 = f on [-1, 1]^2 x [0, t_end], with f chosen so that

        u = (x + y) cos(k t) + x y sin(k t)

    (then u_xx + u_yy = 0 and u_tt = -k^2 u, so f = u^2 - k^2 u). Conditions: u on the
    boundary and u(x, y, 0) = x + y; with `initial_rate` also u_t(x, y, 0) = k x y, without
    which a wave equation is not well posed (the authors' code omits it; False reproduces
    their set-up). Reference: the exact solution on a `resolution`^3 grid (the paper: 50^3).
    """
    from ...geometry import Rectangle, TimeInterval

    if not k > 0 or not t_end > 0:
        raise ValueError(f"klein_gordon: k and t_end must be > 0, got k={k!r}, t_end={t_end!r}")

    def exact(x, y, t):
        return (x + y) * torch.cos(k * t) + x * y * torch.sin(k * t)

    def residual(f):
        u = f.u
        source = exact(f.x, f.y, f.t)
        return u.tt - u.xx - u.yy + u * u - (source * source - k ** 2 * source)

    conditions = [Initial(lambda x, y: x + y), Dirichlet(exact)]
    if initial_rate:
        conditions.append(Initial(lambda x, y: k * x * y, derivative=1))
    return Problem(Rectangle((-1, -1), (1, 1)) * TimeInterval(0, t_end), residual,
                   inputs="x y t", outputs="u", conditions=conditions,
                   reference=Analytic(exact, resolution=resolution), name="klein_gordon")
