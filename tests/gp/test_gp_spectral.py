"""The GP-HM solver: derivatives at grid nodes against dense computation, solutions of linear
and nonlinear problems in 1D and 2D, pruning of the mixture, input checks."""
import math

import pytest
import torch

from physolve.geometry import Disk
from physolve.models import GPSpectral
from physolve.pde import Dirichlet, Problem
from physolve.pde.kron import dense_kron
from physolve.pde.library import problems
from physolve.train.trainer import Trainer


def _solver(problem, **kw):
    solver = GPSpectral(**kw)
    solver.setup(problem)
    return solver


def _perturb(solver, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k in solver.kernels["u"]:
            k.freq.add_(0.3 * torch.rand(k.freq.shape, generator=g, dtype=torch.float64))
            k.log_weight.add_(torch.randn(k.log_weight.shape, generator=g, dtype=torch.float64))
        solver.values["u"].copy_(torch.randn(solver.shape, generator=g, dtype=torch.float64))


def test_node_derivatives_match_dense_posterior_mean_and_scattered_rows():
    """d^a/dx^a d^b/dy^b u at the nodes is (Phi_x^(a) kron Phi_y^(b)) K^-1 vec(U) with the full
    covariance K: the factored per-axis computation must agree with it, and with the
    posterior mean evaluated at the same points as scattered points. (Along an axis not
    differentiated the nodes see K_k K_k^-1 = I, where the posterior mean has k(X, X) K_k^-1:
    the two differ by the jitter, made small here.)"""
    solver = _solver(problems.get("poisson2d_sin")(k=2.0), grid=(7, 6), n_components=3,
                     lengthscale=0.8, jitter=1e-10)
    _perturb(solver, 0)
    with torch.no_grad():
        step = solver._step()
        grid = solver._backend(step)
        rows = solver._row_backend(step, solver.grid.points)
        K = dense_kron([solver._axis_matrix("u", k, 0) + solver.jitter
                        * solver.kernels["u"][k].variance() * torch.eye(n, dtype=torch.float64)
                        for k, n in enumerate(solver.shape)])
        alpha = torch.linalg.solve(K, step.values["u"].reshape(-1))
        for wrt, (a, b) in [((), (0, 0)), (("x",), (1, 0)), (("x", "x"), (2, 0)),
                            (("y", "y"), (0, 2)), (("x", "y"), (1, 1)),
                            (("x", "x", "y"), (2, 1))]:
            Phi = dense_kron([solver._axis_matrix("u", 0, a), solver._axis_matrix("u", 1, b)])
            dense = Phi @ alpha
            on_grid = grid.derivative("u", wrt).reshape(-1) if wrt else dense
            scale = dense.abs().max()
            torch.testing.assert_close(on_grid / scale, dense / scale, atol=1e-7, rtol=0)
            torch.testing.assert_close(rows.derivative("u", wrt) / scale, dense / scale,
                                       atol=1e-7, rtol=0)
        torch.testing.assert_close(grid.value("u"), step.values["u"])


def test_prior_term_matches_dense_log_density():
    solver = _solver(problems.get("poisson2d_sin")(k=2.0), grid=(5, 4), n_components=2,
                     parametrization="values")
    _perturb(solver, 1)
    with torch.no_grad():
        step = solver._step()
        K = dense_kron(step.kron["u"].factors)
        u = step.values["u"].reshape(-1)
        dense = torch.distributions.MultivariateNormal(torch.zeros_like(u), K).log_prob(u)
        kron = -0.5 * (step.kron["u"].quad(step.values["u"]) + step.kron["u"].logdet()
                       + u.numel() * math.log(2 * math.pi))
    torch.testing.assert_close(kron, dense)


def _fit(problem, stages, **kw):
    solver = GPSpectral(**kw)
    solution = Trainer(stages, dtype="float64", metrics_every=0, progress=False).fit(problem,
                                                                                     solver)
    return solver, solution.metrics()["rel_l2"]
