"""The norm-test batch-size schedule (AdAdaGrad)."""
import pytest
import torch

import physolve as ps
from physolve.optim import NormTest, parse_stage
from physolve.pde.library import problems


class LinearSolver:
    """r_i = (a_i . theta - b_i) / sqrt(N): per-sample gradients are known in closed form."""

    def __init__(self, n=12, d=3, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.a = torch.randn(n, d, generator=g, dtype=torch.float64)
        self.b = torch.randn(n, generator=g, dtype=torch.float64)
        self.theta = torch.randn(d, generator=g, dtype=torch.float64).requires_grad_(True)

    def parameters(self):
        return [self.theta]

    def residual_vector(self):
        return (self.a @ self.theta - self.b) / len(self.b) ** 0.5


def test_variance_ratio_matches_per_sample_gradients():
    # With one residual per group the estimate is the textbook sample variance of the
    # per-sample gradients g_i = grad (N r_i^2) divided by N, relative to |mean g_i|^2.
    solver = LinearSolver()
    n = len(solver.b)
    e = solver.a @ solver.theta.detach() - solver.b
    per_sample = 2 * e[:, None] * solver.a          # grad of (a_i . theta - b_i)^2
    mean = per_sample.mean(0)
    variance = (per_sample - mean).square().sum() / (n * (n - 1))
    expected = float(variance / mean.square().sum())
    assert NormTest(groups=n).variance_ratio(solver) == pytest.approx(expected, rel=1e-12)


def test_growth_rule_and_caps():
    solver = LinearSolver()
    ratio = NormTest(groups=4).variance_ratio(solver)
    test = NormTest(eta=(ratio / 3) ** 0.5, groups=4, every=5)
    assert test(solver, step=3) is None                      # not a test step
    assert test(solver, step=5) == pytest.approx(3.0, rel=1e-9)   # b' / b = V / (eta^2 |g|^2)
    capped = NormTest(eta=1e-3, groups=4, max_growth=2.0, max_factor=3.0)
    assert capped(solver, 0) == pytest.approx(2.0) and capped(solver, 0) == pytest.approx(1.5)
    assert capped(solver, 0) is None                          # total factor 3 reached
    assert NormTest(eta=1e3, groups=4)(solver, 0) is None     # the test passes


def test_adadagrad_grows_the_collocation_points():
    solver = ps.PINN(width=8, depth=2, n_interior=64, n_boundary=2)
    sol = ps.solve(problems.get("poisson1d")(), model=solver,
                   optim=[{"name": "adadagrad", "steps": 40, "lr": 0.05,
                           "batch": {"eta": 0.05, "every": 10, "max_factor": 8.0}}],
                   dtype="float64", seed=0, metrics_every=0, progress=False)
    assert 64 < solver.n_interior <= 8 * 64
    assert sol.stages[0]["loss"] < 49.43 / 3
    # any optimizer takes the schedule through the stage's `batch` mapping; false turns it off
    assert parse_stage({"name": "adam", "steps": 1, "batch": {"eta": 0.3}}).batch_schedule().eta \
        == 0.3
    assert parse_stage({"name": "adadagrad", "steps": 1, "batch": False}).batch_schedule() is None
    with pytest.raises(ValueError, match="bad batch options"):
        parse_stage({"name": "adam", "steps": 1, "batch": {"size": 3}})
