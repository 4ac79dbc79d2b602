"""Small problems for the balancing tests: a heat equation with soft initial and boundary
conditions (three loss terms to balance) and a cheap analytic reference."""
import torch

import physolve as ps
from physolve.geometry import Interval, TimeInterval


def heat(hard_initial: bool = False, kappa: float = 0.1) -> ps.Problem:
    """u_t = kappa u_xx on [0, 1] x [0, 1], u(x, 0) = sin(pi x), u = 0 at both ends."""
    def exact(x, t):
        return torch.exp(-kappa * torch.pi ** 2 * t) * torch.sin(torch.pi * x)

    return ps.Problem(Interval(0, 1) * TimeInterval(0, 1), lambda f: f.u.t - kappa * f.u.xx,
                      inputs="x t", outputs="u", name="heat",
                      conditions=[ps.Initial(lambda x: torch.sin(torch.pi * x),
                                             hard=hard_initial),
                                  ps.Dirichlet(0.0, on="x")],
                      reference=ps.reference.Analytic(exact))
