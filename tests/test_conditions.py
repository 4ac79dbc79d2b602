"""Each condition's residual vanishes on an exact solution (and not on a wrong one); hard
constraints hold exactly whatever the network outputs."""
import math

import pytest
import torch

import physolve as ps
from physolve.geometry import Disk, Interval, Rectangle, TimeInterval
from physolve.pde import AutogradBackend, Fields

PI = math.pi


def residual_of(problem, condition, model, n=64, seed=0):
    batch = condition.sample(n, "sobol", seed)
    backend = AutogradBackend(model, batch.points, problem.inputs, problem.outputs,
                              problem.spatial)
    with backend.active():
        return condition.residual(Fields(backend), batch).detach()


def exact2d(X):  # u = sin(x) exp(y)
    return (torch.sin(X[:, 0]) * torch.exp(X[:, 1]))[:, None]


def poisson_problem(conditions):
    return ps.Problem(Rectangle((0, 0), (1, 2)), lambda f: f.u.xx + f.u.yy, inputs="x y",
                      conditions=conditions)


def test_dirichlet_neumann_robin_vanish_on_exact_solution():
    g = lambda x, y: torch.sin(x) * torch.exp(y)  # noqa: E731
    conds = [
        ps.Dirichlet(g, name="d_all"),
        ps.Neumann(lambda x, y: torch.cos(x) * torch.exp(y), on="xmax", name="n_right"),
        ps.Neumann(lambda x, y: -torch.sin(x) * torch.exp(y), on="ymin", name="n_bottom"),
        ps.Robin(2.0, 3.0, lambda x, y: 2 * torch.sin(x) * torch.exp(y) - 3 * torch.exp(y),
                 on="xmin", name="r_left"),
    ]
    problem = poisson_problem(conds)
    for c in conds:
        r = residual_of(problem, c, exact2d)
        assert r.abs().max() < 1e-12, c.name
    # A wrong solution leaves a residual: the test can fail.
    wrong = lambda X: exact2d(X) + 0.01 * X[:, :1] ** 2  # noqa: E731
    assert residual_of(problem, conds[1], wrong).abs().max() > 1e-3


def test_neumann_uses_outward_normals_on_curved_boundaries():
    # u = x^2 + y^2 on the unit-radius disk: du/dn = 2 on the circle.
    problem = ps.Problem(Disk((0, 0), 1.0), lambda f: f.u.xx + f.u.yy - 4, inputs="x y",
                         conditions=[ps.Neumann(2.0)])
    r = residual_of(problem, problem.conditions[0], lambda X: (X ** 2).sum(1, keepdim=True))
    assert r.abs().max() < 1e-10


def test_periodic_value_and_derivatives():
    problem = poisson_problem([ps.Periodic("x", derivatives=2)])
    periodic = lambda X: (torch.sin(2 * PI * X[:, 0]) * torch.exp(X[:, 1]))[:, None]  # noqa
    assert residual_of(problem, problem.conditions[0], periodic).abs().max() < 1e-10
    # sin(x) on [0, 1] is not periodic: the residual is the jump sin(1) e^y.
    assert residual_of(problem, problem.conditions[0], exact2d).abs().max() > 0.5


def test_initial_value_and_rate():
    def model(X):  # u = sin(x) cos(t) + t x: u(x, 0) = sin x, u_t(x, 0) = x
        x, t = X[:, 0], X[:, 1]
        return (torch.sin(x) * torch.cos(t) + t * x)[:, None]

    conds = [ps.Initial(lambda x: torch.sin(x), name="value"),
             ps.Initial(lambda x: x, derivative=1, name="rate")]
    problem = ps.Problem(Interval(0, 1) * TimeInterval(0, 1), lambda f: f.u.tt + f.u,
                         inputs="x t", conditions=conds)
    for c in conds:
        batch = c.sample(32, "sobol", 0)
        assert torch.all(batch.points[:, 1] == 0)
        assert residual_of(problem, c, model).abs().max() < 1e-12


def test_observation_residual():
    pts = torch.rand(20, 2, dtype=torch.float64)
    obs = ps.Observation(pts, exact2d(pts)[:, 0])
    problem = poisson_problem([obs])
    assert residual_of(problem, obs, exact2d).abs().max() < 1e-14
    with pytest.raises(ValueError, match="outside the domain"):
        poisson_problem([ps.Observation(torch.tensor([[3.0, 0.5]]), [1.0])])


def test_hard_dirichlet_and_initial_hold_for_any_network_output():
    problem = ps.Problem(
        Interval(-1, 1) * TimeInterval(0, 1), lambda f: f.u.t, inputs="x t",
        conditions=[ps.Initial(lambda x: -torch.sin(PI * x), hard=True),
                    ps.Dirichlet(lambda x, t: 0.0 * x, on="x", hard=True)])
    raw = lambda X: torch.cos(3 * X[:, :1]) + X[:, 1:] ** 2 + 0.7  # noqa: E731 (any function)
    hard = ps.pde.HardConstraints(problem)
    model = lambda X: hard(X, raw(X))  # noqa: E731
    b = problem.domain.sample_boundary(50, seed=0).points
    x0 = problem.domain.sample_initial(50, seed=0)
    assert model(b).abs().max() < 1e-12
    torch.testing.assert_close(model(x0)[:, 0], -torch.sin(PI * x0[:, 0]), atol=1e-12, rtol=0)
    inside = problem.domain.sample_interior(50, seed=0)
    assert (model(inside) - raw(inside)).abs().max() > 1e-3  # the transform does change u


def test_hard_dirichlet_with_different_values_on_parts():
    domain = Rectangle((-0.5, -0.5), (0.5, 0.5), name="outer") - Disk((0, 0), 0.2, name="hole")
    problem = ps.Problem(domain, lambda f: f.u.xx + f.u.yy, inputs="x y",
                         conditions=[ps.Dirichlet(1.0, on="outer", hard=True),
                                     ps.Dirichlet(0.0, on="hole", hard=True)])
    hard = ps.pde.HardConstraints(problem)
    raw = lambda X: torch.sin(5 * X[:, :1]) * X[:, 1:] + 2.0  # noqa: E731
    for part, value in (("outer", 1.0), ("hole", 0.0)):
        pts = domain.sample_boundary(64, seed=1, on=part).points
        out = hard(pts, raw(pts))[:, 0]
        assert (out - value).abs().max() < 1e-10, part


def test_bad_selectors_and_outputs_fail_early():
    with pytest.raises(ValueError, match="nowhere|matches no|labels"):
        poisson_problem([ps.Dirichlet(0.0, on="nowhere")])
    with pytest.raises(ValueError, match="output 'v' is not one of"):
        poisson_problem([ps.Dirichlet(0.0, output="v")])
    with pytest.raises(ValueError, match="not coordinates"):
        poisson_problem([ps.Dirichlet(lambda r: r)])
    with pytest.raises(ValueError, match="no time input"):
        poisson_problem([ps.Initial(0.0)])
