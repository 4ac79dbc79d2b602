"""The PIG paper's second case (Klein-Gordon) and the PIG experiment configs."""
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import physolve as ps
from physolve.models import PIG
from physolve.pde.library import problems

ROOT = Path(__file__).resolve().parents[1]


class Exact(nn.Module):
    """u = (x + y) cos(k t) + x y sin(k t) as a 'network' of the raw coordinates."""

    def __init__(self, k):
        super().__init__()
        self.k = k
        self.unused = nn.Parameter(torch.zeros(1))   # a solver needs something to hand out

    def forward(self, X):
        x, y, t = X.unbind(1)
        u = (x + y) * torch.cos(self.k * t) + x * y * torch.sin(self.k * t)
        return (u + 0 * self.unused)[:, None]


@pytest.mark.parametrize("k", [2.0, 3.0])
def test_klein_gordon_exact_solution_has_zero_loss_and_error(k):
    problem = problems.get("klein_gordon")(k=k, resolution=9)
    solver = ps.PINN(network=Exact(k), normalize_inputs=False, n_interior=500, n_boundary=200)
    solver.setup(problem, dtype=torch.float64, device="cpu", seed=0)
    total, terms = solver.loss()
    assert set(terms) == {"pde", *[c.name for c in problem.conditions]}
    assert float(total.detach()) < 1e-26, terms
    ref = problem.reference
    assert ref.points().shape == (9 ** 3, 3)
    assert torch.allclose(solver.predict(ref.points())[:, 0], ref.values()[:, 0], atol=1e-14)


def test_klein_gordon_rate_condition_is_optional_and_checked():
    assert len(problems.get("klein_gordon")().conditions) == 3
    assert len(problems.get("klein_gordon")(initial_rate=False).conditions) == 2
    with pytest.raises(ValueError, match="k and t_end must be > 0"):
        problems.get("klein_gordon")(t_end=0)


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("hydra")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pig_vs_pinn
    return pig_vs_pinn


@pytest.mark.parametrize("experiment, problem_name", [("pig_helmholtz", "helmholtz2d"),
                                                      ("pig_klein_gordon", "klein_gordon")])
def test_experiment_configs_compose_build_and_train(bench, experiment, problem_name):
    cfg = bench.compose(experiment)
    assert cfg.problem.name == problem_name and cfg.model.name == "pig"
    assert cfg.trainer.dtype == "float64"
    # the full-size objects build from the registries ...
    problem, solver, trainer_kw = bench.build(cfg)
    assert isinstance(solver, PIG) and problem.name == problem_name
    ps.Trainer(**trainer_kw)                       # stages and trainer options are valid
    # ... and a shrunken copy trains a few steps
    small = bench.compose(experiment, ("model.n_gaussians=16", "model.n_interior=64",
                                       "model.n_boundary=32", "optim.stages=[{name:lbfgs,steps:3}]",
                                       "trainer.progress=false"))
    problem, solver, trainer_kw = bench.build(small)
    if problem_name == "klein_gordon":
        problem = problems.get("klein_gordon")(resolution=5)
    stages = trainer_kw.pop("stages")
    solution = ps.solve(problem, solver, optim=stages, **trainer_kw)
    assert solution.metrics()["steps"] == 3


def test_matched_pinn_has_about_the_same_parameter_count(bench):
    problem = problems.get("helmholtz2d")()
    pig = PIG(n_gaussians=800)
    pinn = bench.matched_pinn(problem, pig, 4097)
    pinn.setup(problem, dtype=torch.float64, device="cpu", seed=0)
    n = sum(p.numel() for p in pinn.parameters())
    assert n == bench.mlp_parameters(2, 1, pinn.width, pinn.depth)
    assert abs(n - 4097) / 4097 < 0.03
