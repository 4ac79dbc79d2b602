"""Diffusion (heat) problems: u_t = kappa u_xx, here as an inverse problem for kappa.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..conditions import Dirichlet, Initial, Observation
from ..problem import Problem
from ..reference import Analytic
from ..unknowns import Unknown
from .registry import problems

PI = math.pi


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
