"""Each sampler's points: in the domain (holes included), uniform's bitwise those the solvers
drew before samplers, RAR's the true top-k, RAD's distributed as its formula says, AAS's
flow a probability density on its box."""
import numpy as np
import pytest
import torch
from scipy import stats

import physolve as ps
from physolve.geometry import Interval, Rectangle
from physolve.models.base import derived_seed
from physolve.sampling import AAS, RAD, RAR, Uniform, make_sampler
from physolve.sampling.flows import box_flow, flow_log_prob
from physolve.sampling.rad import rad_density

from conftest import peak_residual, seeds

FAST_AAS = {"flow_steps": 20, "candidates": 500, "penalty_points": 200, "hidden": [16, 16]}


@pytest.mark.parametrize("name, options", [("uniform", {}), ("rar", {"k": 50, "candidates": 800}),
                                           ("rad", {"candidates": 2000}), ("aas", FAST_AAS)])
def test_points_lie_in_a_domain_with_a_hole(holed, name, options):
    sampler = make_sampler(name, options, "test")
    sampler.setup(holed, method="sobol", seeds=seeds())
    for r in range(3):
        x = sampler.sample(r, 400, peak_residual)
        assert x.dtype == torch.float64 and x.shape[1] == 2 and len(x) >= 400
        assert bool(holed.contains(x).all())
        # strictly outside the hole's open disk (its boundary belongs to the domain)
        assert float(torch.linalg.vector_norm(x - torch.tensor([0.0, 0.5]), dim=1).min()) >= 0.3 - 1e-12
    if name == "aas":  # the flow's mass in the hole and outside is rejected, not moved
        assert 0 < sampler.diagnostics()["acceptance"] < 1


@pytest.mark.parametrize("method", ["sobol", "uniform", "halton"])
def test_uniform_reproduces_the_solvers_points_bitwise(method):
    problem = ps.problems.get("poisson2d_c")()
    solver = ps.PINN(width=4, depth=1, n_interior=300, n_boundary=20, sampling=method)
    assert isinstance(solver.sampler, Uniform)           # the default
    solver.setup(problem, dtype=torch.float64, seed=7)
    for r in range(3):
        solver.resample(r)
        # what PINN.resample drew before samplers existed, for the same seed and round
        before = problem.domain.sample_interior(300, method=method, seed=derived_seed(7, 1, r))
        assert torch.equal(solver.interior, before)


def test_rar_adds_the_true_top_k():
    domain = Rectangle((0, 0), (2, 1))
    sampler = RAR(k=7, candidates=300)
    sampler.setup(domain, method="uniform", seeds=seeds(3))
    first = sampler.sample(0, 50, peak_residual).clone()
    assert len(first) == 50
    x1 = sampler.sample(1, 50, peak_residual)
    pool = domain.sample_interior(300, method="uniform", seed=seeds(3)(1, 1))
    expected = pool[torch.argsort(peak_residual(pool), descending=True)[:7]]
    assert torch.equal(x1[:50], first) and torch.equal(x1[50:], expected)
    # the added points have the largest residuals of the pool, none left out larger
    assert float(peak_residual(x1[50:]).min()) >= float(
        torch.sort(peak_residual(pool), descending=True).values[7])
    assert len(sampler.sample(2, 50, peak_residual)) == 64


def test_rad_density_follows_its_formula():
    """p(x) ∝ |r|^k / mean|r|^k + c with r = x on [0, 1], k = 2, c = 0.5: the density is
    (3 x^2 + 0.5) / 1.5. Chi-square over 10 equal bins, seeded, at level 0.001."""
    sampler = RAD(k=2.0, c=0.5, candidates=200_000)
    sampler.setup(Interval(0, 1), method="uniform", seeds=seeds(11))
    sampler.sample(0, 2000)
    x = sampler.sample(1, 2000, lambda p: p[:, 0]).numpy()[:, 0]
    edges = np.linspace(0, 1, 11)
    cdf = (edges ** 3 + 0.5 * edges) / 1.5
    expected = 2000 * np.diff(cdf)
    observed = np.histogram(x, edges)[0]
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # and the test has power: the same points are far from uniform
    assert stats.chisquare(observed, np.full(10, 200.0)).pvalue < 1e-10


def test_rad_density_values():
    r = torch.tensor([0.0, 1.0, 3.0])
    assert torch.allclose(rad_density(r, 1.0, 1.0), torch.tensor([1.0, 1.75, 3.25]))
    assert torch.allclose(rad_density(torch.zeros(3), 2.0, 0.5), torch.full((3,), 0.5))


def _integral(log_p, lo, hi, nodes=160):
    """Gauss-Legendre quadrature of exp(log_p) over the box [lo, hi] (2-D)."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    axes = [torch.from_numpy((a + b) / 2 + (b - a) / 2 * t) for a, b in zip(lo, hi)]
    X = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    W = np.outer(w * (hi[0] - lo[0]) / 2, w * (hi[1] - lo[1]) / 2).reshape(-1)
    with torch.no_grad():
        return float((torch.exp(log_p(X)).numpy() * W).sum())


def test_the_flow_density_integrates_to_one_over_its_box():
    torch.manual_seed(0)
    flow = box_flow(2, transforms=2, hidden=(16, 16)).double()
    assert abs(_integral(lambda z: flow_log_prob(flow, z), (-1, -1), (1, 1)) - 1) < 1e-2


def test_the_trained_aas_density_integrates_to_one_over_the_bounding_box():
    domain = Rectangle((0, -1), (2, 0.5))
    sampler = AAS(**{**FAST_AAS, "flow_steps": 40, "lr": 1e-2, "beta": 1e-4})
    sampler.setup(domain, method="sobol", seeds=seeds())
    sampler.sample(0, 300)
    before = sampler.diagnostics()
    sampler.sample(1, 300, lambda x: torch.exp(-20 * ((x[:, 0] - 1.5) ** 2 + x[:, 1] ** 2)))
    assert abs(_integral(sampler.log_density, (0, -1), (2, 0.5)) - 1) < 1e-2
    # the flow moved toward the residual: more than the uniform share near its peak
    x = sampler.points
    near = (torch.linalg.vector_norm(x - torch.tensor([1.5, 0.0]), dim=1) < 0.3).double().mean()
    assert float(near) > 2 * (np.pi * 0.09 / 3.0) and before["acceptance"] == 1.0
    assert sampler.diagnostics()["kl_uniform"] > 0.05


def test_aas_importance_weights_have_mean_one_and_follow_the_density():
    sampler = AAS(**FAST_AAS, weights="importance")
    domain = Rectangle((-1, -1), (1, 1))
    sampler.setup(domain, method="sobol", seeds=seeds())
    sampler.sample(0, 400)
    assert sampler.weights is None
    sampler.sample(1, 400, peak_residual)
    w = sampler.weights
    assert w.shape == (400,) and abs(float(w.mean()) - 1) < 1e-12
    # w ∝ 1 / q: a point's weight times its density is the same for all points
    q = torch.exp(sampler.log_q)
    assert torch.allclose(w * q, (w * q)[0].expand(400), rtol=1e-10)


def test_pinn_loss_uses_the_samplers_weights():
    problem = ps.problems.get("poisson_two_peak")(a=10.0, resolution=11)
    solver = ps.PINN(width=4, depth=1, n_interior=64, n_boundary=16, sampler="aas",
                     sampler_options={**FAST_AAS, "weights": "importance"})
    solver.setup(problem, dtype=torch.float64, seed=0)
    solver.resample(1)
    r = solver.residuals()["pde"].reshape(-1)
    _, terms = solver.loss()
    assert torch.allclose(terms["pde"], (solver.interior_weights * r.square()).mean())
    assert not torch.allclose(terms["pde"], r.square().mean())
    v = solver.residual_vector()
    assert torch.allclose(v.square().sum(), solver.loss()[0])


@pytest.mark.parametrize("balance", ["gradnorm", "rba"])
def test_importance_weights_enter_the_balanced_objective(balance):
    """With a balancer the objective weighs each interior point by the sampler's weight as
    well, in the loss and in the residual vector alike (their squared norm is the loss)."""
    problem = ps.problems.get("poisson_two_peak")(a=10.0, resolution=11)
    solver = ps.PINN(width=4, depth=1, n_interior=64, n_boundary=16, sampler="aas",
                     sampler_options={**FAST_AAS, "weights": "importance"}, balance=balance,
                     balance_options={"every": 1})
    solver.setup(problem, dtype=torch.float64, seed=0)
    solver.resample(1)
    solver.begin_step(0)
    total, _ = solver.loss()
    assert torch.allclose(solver.residual_vector().square().sum(), total)
    w = solver.interior_weights
    solver.interior_weights = None  # the same objective without the sampler's weights differs
    assert not torch.allclose(solver.loss()[0], total)
    solver.interior_weights = w
