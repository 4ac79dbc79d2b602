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


def test_log_weights_prune_the_mixture_to_the_target_frequency():
    """u = sin(6 x): of six components at fixed frequencies 0, f0, 2 f0, ..., 5 f0 (equal
    initial weights), the one at f0 = 6 / (2 pi) takes nearly all the weight. (A loose
    likelihood, noise 5e-2: with the default 1e-4 the likelihood dominates the objective and
    300 steps move the weights little; docs/gp_spectral.md.)"""
    from physolve.optim.lbfgs import LBFGS
    from physolve.train.metrics import reference_metrics

    f0 = 6.0 / (2 * math.pi)
    problem = problems.get("poisson1d_sin")(k=6.0, hard=True)
    solver = _solver(problem, grid=64, init="spread", n_components=6, max_freq=5 * f0,
                     noise=5e-2)
    kernel = solver.kernels["u"][0]
    torch.testing.assert_close(kernel.freq[1], torch.tensor(f0, dtype=torch.float64))
    kernel.freq.requires_grad_(False)
    optimizer = LBFGS(solver.parameters())

    def closure():
        optimizer.zero_grad()
        total, _ = solver.loss()
        total.backward()
        return total

    for _ in range(300):
        optimizer.step(closure)
    share = kernel.log_weight.exp().detach()
    share = share / share.sum()
    assert share[1] > 0.85, share
    assert float(torch.cat([share[:1], share[2:]]).max()) < 0.06, share  # were 1/6 each
    assert reference_metrics(solver, problem)["rel_l2"] < 1e-2


@pytest.mark.parametrize("name, args, grid, bound", [
    ("poisson2d_sin", {"k": 3.0, "hard": True}, 24, 1e-2),       # Kronecker, 2D
    ("poisson2d_sin", {"k": 3.0}, 24, 2e-2),                     # soft boundary values
    ("allen_cahn1d", {"a": 1.0, "k": 5.0, "hard": True}, 64, 1e-2),  # nonlinear residual
])
def test_solves_linear_and_nonlinear_problems(name, args, grid, bound):
    _, err = _fit(problems.get(name)(**args), ["lbfgs:300"], grid=grid)
    assert err < bound


def test_rejects_domains_other_than_boxes():
    problem = Problem(Disk((0, 0), 1), lambda f: f.u.xx + f.u.yy, inputs="x y", outputs="u",
                      conditions=[Dirichlet(0.0)])
    with pytest.raises(ValueError, match="not a box"):
        _solver(problem, grid=8)


@pytest.mark.parametrize("kw, match", [
    ({"kernel": "rbf"}, "unknown kernel 'rbf'; choose one of"),
    ({"init": "random"}, "unknown init"), ({"parametrization": "raw"}, "unknown parametrization"),
    ({"noise": -1.0}, "noise must be"), ({"jitter": 0}, "jitter must be"),
    ({"n_components": 1}, "n_components"), ({"grid": 2}, "at least 3 nodes"),
    ({"grid": [8, 8]}, "grid needs one value or 1"), ({"weights": {"wall": 1.0}}, "unknown terms"),
])
def test_bad_arguments_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        _solver(problems.get("poisson1d_sin")(k=2.0), **kw)


def test_inverse_problem_in_space_time():
    """u_t = kappa u_xx on a space-time box: initial values on the first time slice, Dirichlet
    values on the x faces, scattered observations through the kernel rows, kappa learned."""
    problem = problems.get("inverse_diffusion")(n_obs=100)
    solver, err = _fit(problem, ["lbfgs:150"], grid=16, init="spread", max_freq=2.0)
    assert err < 1e-2
    assert solver.unknown_values()["kappa"] == pytest.approx(0.1, rel=2e-2)
