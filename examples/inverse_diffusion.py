"""An inverse problem: recover the diffusivity kappa of u_t = kappa u_xx from observations.

200 noise-free observations of u = exp(-kappa pi^2 t) sin(pi x), kappa = 0.1, with the initial
and boundary values known; kappa starts at 0.5 and is learned with the solution.

    .venv/bin/python examples/inverse_diffusion.py
"""
import math

import numpy as np
import torch

import physolve as ps
from physolve.geometry import Interval, TimeInterval

KAPPA_TRUE = 0.1


def exact(x, t):
    return torch.exp(-KAPPA_TRUE * math.pi ** 2 * t) * torch.sin(math.pi * x)


def diffusion(f, kappa):
    return f.u.t - kappa * f.u.xx


def make_problem(n_obs: int = 200, seed: int = 1) -> ps.Problem:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 1, size=(n_obs, 2))
    values = exact(torch.as_tensor(pts[:, 0]), torch.as_tensor(pts[:, 1]))
    return ps.Problem(
        Interval(0, 1) * TimeInterval(0, 1), diffusion, inputs="x t", outputs="u",
        conditions=[
            ps.Initial(lambda x: torch.sin(math.pi * x)),
            ps.Dirichlet(0.0, on="x"),
            ps.Observation(pts, values),
        ],
        unknowns={"kappa": ps.Unknown(0.5, positive=True)},
        reference=ps.reference.Analytic(exact),
    )


def main():
    solution = ps.solve(
        make_problem(), model=ps.PINN(width=20, depth=3, n_interior=1000, n_boundary=100),
        optim=["adam:500:lr=1e-2", "lbfgs:500"], dtype="float64", seed=0, progress=False,
    )
    kappa = solution.unknowns["kappa"]
    print(f"recovered kappa = {kappa:.5f} (true {KAPPA_TRUE}, error "
          f"{abs(kappa - KAPPA_TRUE) / KAPPA_TRUE:.2%}); "
          f"solution rel. L2 {solution.metrics()['rel_l2']:.2e}")
    return solution


if __name__ == "__main__":
    main()
